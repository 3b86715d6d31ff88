package ecr

import (
	"context"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/berth-dev/berth/internal/api"
)

// grants allows root everything and other principals only the listed
// "action resource" pairs.
type grants map[string]bool

func (g grants) Authorize(_ context.Context, p api.Principal, action, resource string) error {
	if p.Root || g[action+" "+resource] {
		return nil
	}
	return api.Errorf(api.CodeAccessDenied, "User: %s is not authorized to perform: %s on resource: %s", p.ARN, action, resource)
}

// TestCrossRepositoryMountNeedsRead checks that a blob mount from another
// repository needs read access to that repository: without it the mount
// is ignored and a normal upload starts, as the OCI spec allows.
func TestCrossRepositoryMountNeedsRead(t *testing.T) {
	tr := newTestRegistry(t)
	if _, err := tr.CreateRepository(tr.ctx, &CreateRepositoryInput{RepositoryName: "secret"}); err != nil {
		t.Fatal(err)
	}
	layer := tr.pushBlob(t, "secret", []byte("private layer"))
	g := grants{}
	for _, a := range []string{"InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload", "GetDownloadUrlForLayer"} {
		g["ecr:"+a+" "+tr.repoArn("app")] = true
	}
	tr.authz = g
	userAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("AWS:"+tr.userPassword))
	mount := "/v2/app/blobs/uploads/?mount=" + layer.String() + "&from=secret"
	for _, tc := range []struct {
		name   string
		grant  []string
		status int
	}{
		{"push on app only", nil, http.StatusAccepted},
		{"only BatchGetImage on secret", []string{"BatchGetImage"}, http.StatusAccepted},
		{"read on secret", []string{"BatchGetImage", "GetDownloadUrlForLayer"}, http.StatusCreated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, a := range tc.grant {
				g["ecr:"+a+" "+tr.repoArn("secret")] = true
			}
			resp, body := tr.do(t, http.MethodPost, mount, userAuth, "", nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("mount: %s %s, want %d", resp.Status, body, tc.status)
			}
			if tc.status == http.StatusAccepted && resp.Header.Get("Location") == "" {
				t.Errorf("an ignored mount started no upload (no Location)")
			}
			head, _ := tr.do(t, http.MethodHead, "/v2/app/blobs/"+layer.String(), userAuth, "", nil)
			if mounted := head.StatusCode == http.StatusOK; mounted != (tc.status == http.StatusCreated) {
				t.Errorf("HEAD of the layer in app after the mount: %s", head.Status)
			}
		})
	}
}
