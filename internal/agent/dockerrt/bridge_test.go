package dockerrt

import "testing"

func TestInterfaceIPv4(t *testing.T) {
	for name, want := range map[string]string{"lo": "127.0.0.1", "no-such-interface": ""} {
		if got := interfaceIPv4(name); got != want {
			t.Errorf("interfaceIPv4(%q) = %q, want %q", name, got, want)
		}
	}
}
