#!/usr/bin/env bash
# Draws the app icon (a chip with a play mark) with ImageMagick.
# The result is committed as build/appicon.png; run this only to change it.
set -euo pipefail
out="${1:-build/appicon.png}"
convert -size 512x512 xc:none \
  \( -size 512x512 gradient:'#4f46e5-#0d9488' \) \
  \( -size 512x512 xc:black -fill white -draw "roundrectangle 16,16 495,495 96,96" \) \
  -delete 0 -alpha off -compose copy_opacity -composite \
  -fill none -stroke white -strokewidth 22 -draw "roundrectangle 136,136 375,375 36,36" \
  -strokewidth 18 \
  -draw "line 196,80 196,136" -draw "line 256,80 256,136" -draw "line 316,80 316,136" \
  -draw "line 196,375 196,432" -draw "line 256,375 256,432" -draw "line 316,375 316,432" \
  -draw "line 80,196 136,196" -draw "line 80,256 136,256" -draw "line 80,316 136,316" \
  -draw "line 375,196 432,196" -draw "line 375,256 432,256" -draw "line 375,316 432,316" \
  -stroke none -fill white -draw "polygon 222,196 222,316 322,256" \
  -depth 8 -strip -define png:compression-level=9 "$out"
