#!/bin/sh
# The input of the xz-mt recording (not recorded): 12 MB of text.
seq 1 1800000 | sed 's/$/ maple corpus line/' | head -c 12000000 >"$1"
