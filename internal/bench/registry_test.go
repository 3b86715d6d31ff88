package bench

import (
	"encoding/base64"
	"testing"
)

func TestDecodePassword(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	for _, c := range []struct {
		name, token, want string
		wantErr           bool
	}{
		{"AWS:password", b64([]byte("AWS:s3cr:et")), "s3cr:et", false},
		{"empty password", b64([]byte("AWS:")), "", false},
		{"other user", b64([]byte("bob:pw")), "", true},
		{"not base64", "%%%", "", true},
	} {
		got, err := decodePassword(c.token)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("%s: decodePassword = %q, %v; want %q, error %v", c.name, got, err, c.want, c.wantErr)
		}
	}
}
