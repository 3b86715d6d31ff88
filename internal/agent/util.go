package agent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"

	"github.com/aws/smithy-go"
)

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// errorCode is the AWS error code of an API error, "" for other errors.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
