#!/usr/bin/env bash
# End to end on the bundled real data: bootstrap (idempotent), ingest the SNAP Higgs Twitter week and both Klout
# open-data samples into a local Delta warehouse (./warehouse), run the daily step (features -> graph -> score) for
# each Higgs day (1-7 July 2012), then print what was loaded, the top 20 influencers and one explanation.
# Rerunning it gives the same tables. Data directory: $KLOUT_DATA (default ../shared/data beside the project).
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"
DATA="${KLOUT_DATA:-$ROOT/../shared/data}"
[ -d "$DATA" ] || die "data directory not found: $DATA (set KLOUT_DATA)"

klout ingest --source "$DATA/higgs/higgs-activity_time.txt.gz" --format higgs "$@"
klout ingest --source "$DATA/klout_opendata" --format klout-opendata "$@"
klout daily --date 2012-07-01 --end 2012-07-07 "$@"
klout summary -q "$@"
echo
klout top --date 2012-07-07 --n 20 -q "$@"
echo
klout explain --rank 1 --date 2012-07-07 -q "$@"
