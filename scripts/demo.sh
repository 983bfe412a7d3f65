#!/bin/bash
echo "demo: not yet implemented" >&2
exit 1
