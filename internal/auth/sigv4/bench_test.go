package sigv4

import (
	"context"
	"testing"
)

// BenchmarkVerify times the verification of one signed ECS request
// (canonical request, string to sign, key derivation, HMAC).
func BenchmarkVerify(b *testing.B) {
	r := signed(b, spec{url: ecsURL, body: ecsBody, header: jsonHeaders})
	v := testVerifier()
	body := []byte(ecsBody)
	for b.Loop() {
		if _, err := v.Verify(context.Background(), r, body); err != nil {
			b.Fatal(err)
		}
	}
}
