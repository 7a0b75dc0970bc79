#!/usr/bin/env bash
# torii-sign.sh: sends one request signed for Torii's anti-tamper plugin
# (and anti-replay: a fresh timestamp and nonce each run), with curl and
# openssl. See docs/plugins/anti-tamper.md for the algorithm.
#
# usage: TORII_SECRET=<secret> torii-sign.sh -k <key> [-X METHOD]
#          [-H 'Name: value']... [-d <body> | -d @<file>] [-v] <url> [curl options...]
#
#   -k KEY     the consumer's anti-tamper key (X-Torii-Key); or TORII_KEY
#   -X METHOD  the method (default GET, POST with -d)
#   -H HEADER  a header to send AND sign (host is always signed); a body
#              needs a Content-Type header, which is then signed too
#   -d DATA    the body, sent byte for byte (@file reads a file)
#   -v         print the canonical string to stderr
# The secret comes from the environment only (TORII_SECRET), so it stays
# out of shell history; openssl receives it as an argument for the
# duration of one call. Anything after the URL goes to curl as is.
set -euo pipefail
export LC_ALL=C

key=${TORII_KEY:-}
method=
body_file=
verbose=0
headers=()
while getopts 'k:X:H:d:v' opt; do
  case $opt in
    k) key=$OPTARG ;;
    X) method=$OPTARG ;;
    H) headers+=("$OPTARG") ;;
    d)
      body_file=$(mktemp)
      trap 'rm -f "$body_file"' EXIT
      if [[ $OPTARG == @* ]]; then cat -- "${OPTARG#@}" >"$body_file"; else printf '%s' "$OPTARG" >"$body_file"; fi
      ;;
    v) verbose=1 ;;
    *) sed -n '6,17p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [[ $# -lt 1 || -z $key || -z ${TORII_SECRET:-} ]]; then
  echo "torii-sign.sh: need -k <key> (or TORII_KEY), TORII_SECRET and a URL" >&2
  exit 2
fi
url=$1
shift
[[ -z $method ]] && { [[ -n $body_file ]] && method=POST || method=GET; }

# http://authority/path?query -> authority, target
rest=${url#*://}
authority=${rest%%[/?]*}
target=${rest:${#authority}}
[[ $target == \?* || -z $target ]] && target="/$target"
path=${target%%\?*}
query=
[[ $target == *\?* ]] && query=${target#*\?}

# Path: every %xx escape with upper-case hex, nothing else changed.
path=$(printf '%s' "$path" | sed -E 's/%([0-9A-Fa-f]{2})/%\U\1/g')

# Percent-decode (an invalid escape stays literal), then RFC 3986-encode.
rfc3986() {
  local s=${1//\\/\\\\} decoded out='' c i hex
  s=$(printf '%s' "$s" | sed -E 's/%([0-9A-Fa-f]{2})/\\x\1/g')
  printf -v decoded '%b' "$s"
  for ((i = 0; i < ${#decoded}; i++)); do
    c=${decoded:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) printf -v hex '%%%02X' "'$c"; out+=$hex ;;
    esac
  done
  printf '%s' "$out"
}

# Query: name=value pairs, each re-encoded, sorted by name then value.
canonical_query=
if [[ -n $query ]]; then
  pairs=
  IFS='&' read -r -a pieces <<<"$query"
  for piece in "${pieces[@]}"; do
    [[ -z $piece ]] && continue
    if [[ $piece == *=* ]]; then
      pairs+="$(rfc3986 "${piece%%=*}")"$'\t'"$(rfc3986 "${piece#*=}")"$'\n'
    else
      pairs+="$(rfc3986 "$piece")"$'\t'$'\n'
    fi
  done
  canonical_query=$(printf '%s' "$pairs" | sort -t $'\t' -k1,1 -k2,2 | tr '\t' '=' | paste -sd '&' -)
fi

# Signed headers: host, then every -H, by lower-case name.
signed=$(printf 'host\t%s\n' "$authority")
has_type=0
for h in "${headers[@]+"${headers[@]}"}"; do
  name=$(printf '%s' "${h%%:*}" | tr 'A-Z' 'a-z')
  value=$(printf '%s' "${h#*:}" | tr -s ' \t' ' ' | sed 's/^ //; s/ $//')
  [[ $name == content-type ]] && has_type=1
  signed+=$'\n'"$name"$'\t'"$value"
done
if [[ -n $body_file && $has_type == 0 ]]; then
  echo "torii-sign.sh: a body needs -H 'Content-Type: ...' (it is signed)" >&2
  exit 2
fi
signed=$(printf '%s\n' "$signed" | sort -t $'\t' -k1,1)
header_block=$(printf '%s\n' "$signed" | sed 's/\t/:/')
signed_names=$(printf '%s\n' "$signed" | cut -f1 | paste -sd ';' -)

timestamp=$(date +%s)
nonce=$(openssl rand -hex 16)
if [[ -n $body_file ]]; then
  body_hash=$(openssl dgst -sha256 -r <"$body_file" | cut -d' ' -f1)
else
  body_hash=$(printf '' | openssl dgst -sha256 -r | cut -d' ' -f1)
fi

canonical=$(printf 'TORII1-HMAC-SHA256\n%s\n%s\n%s\n%s\n%s\n%s\n\n%s\n%s' \
  "$timestamp" "$nonce" "$method" "$path" "$canonical_query" "$header_block" \
  "$signed_names" "$body_hash")
[[ $verbose == 1 ]] && printf '%s\n' "$canonical" >&2
signature=$(printf '%s' "$canonical" |
  openssl dgst -sha256 -mac HMAC -macopt "key:$TORII_SECRET" -r | cut -d' ' -f1)

args=(-sS -X "$method" -H "Host: $authority")
for h in "${headers[@]+"${headers[@]}"}"; do args+=(-H "$h"); done
args+=(-H "X-Torii-Key: $key" -H "X-Torii-Timestamp: $timestamp" -H "X-Torii-Nonce: $nonce"
  -H "X-Torii-Content-SHA256: $body_hash" -H "X-Torii-Signed-Headers: $signed_names"
  -H "X-Torii-Signature: $signature")
[[ -n $body_file ]] && args+=(--data-binary "@$body_file")
exec_status=0
curl "${args[@]}" "$url" "$@" || exec_status=$?
exit $exec_status
