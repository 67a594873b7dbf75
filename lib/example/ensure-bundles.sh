#!/bin/sh
# Builds the Lambda handler bundles (assets/<path>.lambda/index.js) when one is missing or older
# than a TypeScript file under lib/, and does nothing when they are up to date: `npx cdk synth`
# works on a fresh clone without paying for a rebuild on every run.
set -e
cd "$(dirname "$0")/../.."
for source in $(find lib -name '*.lambda.ts'); do
  bundle="assets/${source%.ts}/index.js"
  if [ ! -f "$bundle" ] || [ -n "$(find lib -name '*.ts' -newer "$bundle" -print | head -n 1)" ]; then
    npx projen bundle > /dev/null 2>&1 || npx projen bundle
    exit 0
  fi
done
