#!/bin/sh
# The demo workflow's last step: checks and lists what would ship, with progress lines.
# POSIX tools only; ACO_DEMO_TICK_MS sets the pause per file (default 300 ms).
set -eu

tick=$(awk -v ms="${ACO_DEMO_TICK_MS:-300}" 'BEGIN { printf "%.3f", ms / 1000 }')
files="demo.yml demo/work.mjs demo/package.sh"
count=$(echo $files | wc -w | tr -d ' ')

echo "packing aco-demo-1.0.0 ($count files)"
i=0
total=0
for file in $files; do
	sleep "$tick"
	i=$((i + 1))
	size=$(wc -c < "$file" | tr -d ' ')
	total=$((total + size))
	echo "  adding $file ($size bytes, crc $(cksum < "$file" | cut -d ' ' -f 1))"
	echo "::progress value=$((i * 80 / count))::Packed $i of $count files"
done
sleep "$tick"
echo "verifying manifest"
echo "::progress value=100::Packed $count files, $total bytes"
echo "manifest ready: aco-demo-1.0.0, $count files, $total bytes"
