package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestRegistryAuthentication talks to the registry over plain HTTP as a
// client without Docker's login would: it gets ECR's Basic challenge when
// anonymous, and is let in with the ECR token as a Bearer token (the
// password of get-login-password, or the authorizationToken of
// get-authorization-token) as well as with Basic AWS:<password>.
func TestRegistryAuthentication(t *testing.T) {
	cli := requireCLIv2(t)
	b := shared(t)
	u, _ := url.Parse(b.Endpoint)
	host := "localhost:" + u.Port()
	repo := uniqueName("e2e-auth")
	b.Run(t, cli, "ecr", "create-repository", "--repository-name", repo).MustSucceed(t)
	t.Cleanup(func() { b.Run(t, cli, "ecr", "delete-repository", "--repository-name", repo, "--force") })
	password := strings.TrimSpace(b.Run(t, cli, "ecr", "get-login-password").MustSucceed(t).Stdout)
	var data struct {
		AuthorizationData []struct{ AuthorizationToken string } `json:"authorizationData"`
	}
	b.Run(t, cli, "ecr", "get-authorization-token").MustSucceed(t).JSON(t, &data)
	token := data.AuthorizationData[0].AuthorizationToken

	hc := &http.Client{Timeout: 10 * time.Second}
	get := func(path, authorization string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+host+path, nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	challenge := `Basic realm="http://` + host + `/",service="ecr.amazonaws.com"`
	for _, tt := range []struct {
		name, authorization string
		status              int
		message             string
	}{
		{"anonymous", "", 401, "Not Authorized"},
		{"basic", "Basic " + token, 200, ""},
		{"bearer password", "Bearer " + password, 200, ""},
		{"bearer authorization token", "Bearer " + token, 200, ""},
		{"bearer tampered", "Bearer " + password + "0", 401, "invalid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/v2/", "/v2/" + repo + "/tags/list"} {
				resp, body := get(path, tt.authorization)
				if resp.StatusCode != tt.status {
					t.Fatalf("GET %s: %s %s, want %d", path, resp.Status, body, tt.status)
				}
				if got := resp.Header.Get("WWW-Authenticate"); tt.status == 401 && got != challenge {
					t.Errorf("WWW-Authenticate %q, want %q", got, challenge)
				}
				var e struct {
					Errors []struct{ Code, Message string } `json:"errors"`
				}
				if tt.status == 401 && (json.Unmarshal([]byte(body), &e) != nil || len(e.Errors) == 0 || e.Errors[0].Code != "DENIED" || !strings.Contains(e.Errors[0].Message, tt.message)) {
					t.Errorf("401 body %s, want DENIED saying %q", body, tt.message)
				}
			}
		})
	}
	if _, body := get("/v2/"+repo+"/tags/list", "Bearer "+password); !strings.Contains(body, `"tags":[]`) {
		t.Errorf("tags of a new repository: %s, want an empty list", body)
	}
}
