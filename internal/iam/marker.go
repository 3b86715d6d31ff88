package iam

import (
	"encoding/base64"
	"strconv"
)

// Markers are opaque to clients; a base64 index keeps them so.
func formatMarker(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(n)))
}

func parseMarker(m string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(b))
}
