package dockerrt_test

import (
	"archive/tar"
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/moby/moby/client"
)

// TestImportImage makes an image from a tar of one file and checks that
// it exists, with that file and the entrypoint the changes gave it.
func TestImportImage(t *testing.T) {
	rt, _ := setup(t)
	ctx := t.Context()
	ref := "berth-test-import:" + randHex(6)
	if ok, err := rt.ImageExists(ctx, ref); err != nil || ok {
		t.Fatalf("ImageExists before import = %v, %v", ok, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("hello\n")
	tw.WriteHeader(&tar.Header{Name: "etc/greeting", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write(body)
	tw.Close()
	if err := rt.ImportImage(ctx, ref, &buf, []string{`ENTRYPOINT ["/bin/greet"]`}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Client().ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true}) })
	if ok, err := rt.ImageExists(ctx, ref); err != nil || !ok {
		t.Fatalf("ImageExists after import = %v, %v", ok, err)
	}
	img, err := rt.Client().ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Config.Entrypoint; !slices.Equal(got, []string{"/bin/greet"}) {
		t.Fatalf("entrypoint %q", got)
	}
	if err := rt.ImportImage(ctx, "berth-test-import:bad", bytes.NewReader([]byte("not a tar")), nil); err == nil {
		rt.Client().ImageRemove(context.Background(), "berth-test-import:bad", client.ImageRemoveOptions{Force: true})
		t.Fatal("importing garbage succeeded")
	}
}
