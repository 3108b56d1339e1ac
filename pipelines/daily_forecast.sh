#!/usr/bin/env bash
# The daily batch forecast, as a scheduler (cron, systemd timer) calls it. See docs/batch.md.
#
#   pipelines/daily_forecast.sh [ARTIFACT [DATA [STORE]]]
#
# Arguments override the environment:
#   WQ_ARTIFACT        artifact directory, or a folder of artifacts (required)
#   WQ_DATA            fresh data file (default: the file each artifact was trained on)
#   WQ_STORE           SQLite forecast store, created if absent (required; its folder must exist)
#   WQ_MAX_STALENESS   allowed age of the last complete observation, e.g. 36h, or "none" to forecast from
#                      old data on purpose (default: the pipeline's [batch] max_staleness; unset there:
#                      refuse data whose last complete row is more than one step before the forecast
#                      origin, the newest period that has ended: for daily data at 06:30, yesterday's or
#                      the day before's row must be there)
#   WQ_ARTIFACT_KEY    optional; read by wq itself: artifacts must carry a valid signature made with it
#   WQ_PYTHON          Python interpreter with wq installed (default: python3 on PATH)
#   WQ_EXTRA_ARGS      more options for `wq forecast`, e.g. "--threads 2" or "--fail-on-alarm" (exit 4 when a
#                      forecast's probability of crossing a [limits] limit reaches the alarm threshold)
#
# Runs `python -m wq.batch forecast` (the same command as `wq forecast`; it imports only the batch commands,
# whatever the other subcommands import), logs to stderr with timestamps, and exits with its code:
# 0 ok, 2 bad input (stale or malformed data, bad or unsigned artifact, bad option: nothing written), 1 unexpected,
# 4 an alarm with --fail-on-alarm (the forecasts were written).
# A forecast already issued is never replaced: re-running a day on revised data stores a new version beside it.
set -euo pipefail

log() { printf '%s daily_forecast: %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$*" >&2; }

artifact="${1:-${WQ_ARTIFACT:-}}"
data="${2:-${WQ_DATA:-}}"
store="${3:-${WQ_STORE:-}}"
python="${WQ_PYTHON:-python3}"

if [[ -z "$artifact" || -z "$store" ]]; then
    log "usage: daily_forecast.sh ARTIFACT [DATA [STORE]] (or set WQ_ARTIFACT, WQ_DATA, WQ_STORE); artifact and store are required"
    exit 2
fi

args=(forecast --artifact "$artifact" --store "$store")
[[ -n "$data" ]] && args+=(--data "$data")
[[ -n "${WQ_MAX_STALENESS:-}" ]] && args+=(--max-staleness "$WQ_MAX_STALENESS")
if [[ -n "${WQ_EXTRA_ARGS:-}" ]]; then
    read -r -a extra <<< "$WQ_EXTRA_ARGS"
    args+=("${extra[@]}")
fi

log "start: artifact $artifact, data ${data:-<as trained>}, store $store"
rc=0
"$python" -m wq.batch "${args[@]}" || rc=$?
case "$rc" in
    0) log "done" ;;
    2) log "failed: bad input (see the error above); nothing was written" ;;
    4) log "ALARM: a forecast's probability of crossing its limit reached the alarm threshold (forecasts written)" ;;
    *) log "failed: unexpected error (exit $rc); nothing was written" ;;
esac
exit "$rc"
