#!/bin/sh
# The "reload" of the engine's tests: it fails when $2/reject exists, and
# otherwise adds the generation it was given to $2/reloads.
if [ -e "$2/reject" ]; then
	echo "the server rejected the configuration" >&2
	exit 1
fi
echo "$3" >> "$2/reloads"
