#!/bin/sh
# The "configuration test" of the engine's tests: it fails when a *.conf
# file of the directory $1 holds "broken", or says "needs NAME" and NAME.conf
# is not there. Each run adds a line to $2/tests.
echo test >> "$2/tests"
cd "$1" || exit 2
for f in *.conf; do
	[ -e "$f" ] || continue
	if grep -q broken "$f"; then
		echo "$f is broken" >&2
		exit 1
	fi
	need=$(sed -n 's/^needs //p' "$f")
	if [ -n "$need" ] && [ ! -e "$need.conf" ]; then
		echo "$f needs $need.conf" >&2
		exit 1
	fi
done
