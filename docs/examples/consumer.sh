#!/bin/bash
# A safe consumer of clicktrack's list, with bash and redis-cli only (see
# docs/durability.md).  Delivery is at least once, so it:
#
#   1. moves each event atomically from the list to a processing list
#      (BLMOVE), so an event is never only in this process's memory;
#   2. skips an event whose id it has already handled (a key per id, kept
#      for a day: the window in which clicktrack can send one twice);
#   3. handles it, marks the id as seen, and only then removes it from the
#      processing list (LREM);
#   4. at start, handles first what a consumer that died left in the
#      processing list.
#
# A crash between 3's "handle" and "marks" handles that event again on
# restart: make handle() idempotent, or accept a rare duplicate.
#
#   REDIS_HOST=127.0.0.1 REDIS_PORT=6379 docs/examples/consumer.sh [--once]
#
# --once: stop when the list is empty instead of waiting for more.
# The "handling" here prints id, type and label, one event per line.

set -eu

list=${CLICKTRACK_LIST:-clicktrack:events}
processing=${CLICKTRACK_PROCESSING:-$list:processing}
seen=${CLICKTRACK_SEEN:-$list:seen}
once=${1:-}

r() {
    redis-cli -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-6379}" \
        --raw "$@"
}

handle() {
    local event=$1 type label

    type=$(sed -n 's/.*"type":"\([^"]*\)".*/\1/p' <<<"$event")
    label=$(sed -n 's/.*"label":"\([^"]*\)".*/\1/p' <<<"$event")
    printf '%s %s %s\n' "$2" "$type" "$label"
}

process() {
    local event=$1 id

    id=$(sed -n 's/^{"id":"\([0-9a-f-]*\)".*/\1/p' <<<"$event")

    if [ -z "$id" ]; then
        echo "consumer: an event without an id, set aside: $event" >&2
        r RPUSH "$list:bad" "$event" >/dev/null
    elif [ "$(r EXISTS "$seen:$id")" = 0 ]; then
        handle "$event" "$id"
        r SET "$seen:$id" 1 EX 86400 >/dev/null
    fi

    r LREM "$processing" 1 "$event" >/dev/null
}

# what a consumer that died left behind, oldest first
while IFS= read -r event; do
    [ -n "$event" ] && process "$event"
done < <(r LRANGE "$processing" 0 -1)

while :; do
    event=$(r BLMOVE "$list" "$processing" LEFT RIGHT 1)

    if [ -z "$event" ]; then
        [ "$once" = --once ] && break
        continue
    fi

    process "$event"
done
