package e2e

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestHTTPSListenerCLI: a certificate issued by a test CA is imported with
// `aws acm import-certificate`; an HTTPS listener of an application load
// balancer serves it (`aws elbv2 create-listener --protocol HTTPS`), and a
// Go TLS client to 127.0.0.1:<port> trusting only the test CA gets a
// service's task's answer over HTTP/2. ACM names the listener among the
// certificate's users and will not delete it while the listener does.
func TestHTTPSListenerCLI(t *testing.T) {
	b := shared(t)
	cli := requireCLIv2(t)
	image := testutil.BuildTestImage(t, "")
	waitForInstances(t, b, cli, defaultCluster, 2)

	dir := t.TempDir()
	ca := testutil.NewCA(t, "Berth e2e CA")
	leaf := ca.Issue(t, false, "web.example.test")
	files := map[string][]byte{"cert.pem": leaf.CertPEM, "key.pem": leaf.KeyPEM, "chain.pem": ca.PEM}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var imp struct{ CertificateArn string }
	b.Run(t, cli, "acm", "import-certificate", "--certificate", "fileb://"+filepath.Join(dir, "cert.pem"),
		"--private-key", "fileb://"+filepath.Join(dir, "key.pem"), "--certificate-chain", "fileb://"+filepath.Join(dir, "chain.pem")).MustSucceed(t).JSON(t, &imp)
	certArn := imp.CertificateArn
	// Deleted last, once the load balancer (and its listener) is gone.
	t.Cleanup(func() { b.Run(t, cli, "acm", "delete-certificate", "--certificate-arn", certArn) })

	lbArn, tg := defaultALB(t, b, cli, "e2e-https")
	port := freeLoopbackPort(t)
	create := func(extra ...string) CLIResult {
		args := append([]string{"elbv2", "create-listener", "--load-balancer-arn", lbArn, "--protocol", "HTTPS", "--port", fmt.Sprint(port),
			"--default-actions", "Type=forward,TargetGroupArn=" + tg}, extra...)
		return b.Run(t, cli, args...)
	}
	create().MustFail(t, cli.ServiceErrorExit, "A certificate must be specified for HTTPS listeners")
	var lOut struct {
		Listeners []struct {
			ListenerArn  string
			SslPolicy    string
			Certificates []struct{ CertificateArn string }
		}
	}
	create("--certificates", "CertificateArn="+certArn).MustSucceed(t).JSON(t, &lOut)
	l := lOut.Listeners[0]
	if l.SslPolicy != "ELBSecurityPolicy-2016-08" || len(l.Certificates) != 1 || l.Certificates[0].CertificateArn != certArn {
		t.Fatalf("listener: %s", pretty(lOut))
	}

	family := uniqueName("e2e-httpsweb")
	td := map[string]any{"family": family, "containerDefinitions": []any{map[string]any{
		"name": "web", "image": image, "memory": 64, "essential": true,
		"portMappings": []any{map[string]any{"containerPort": 8080, "hostPort": 0}},
		"environment":  []any{map[string]any{"name": "VERSION", "value": "tls"}},
	}}}
	b.Run(t, cli, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "httpsweb.json", td)).MustSucceed(t)
	svcName := uniqueName("e2e-httpssvc")
	b.Run(t, cli, "ecs", "create-service", "--cluster", defaultCluster, "--service-name", svcName, "--task-definition", family,
		"--desired-count", "1", "--health-check-grace-period-seconds", "30",
		"--load-balancers", fmt.Sprintf("targetGroupArn=%s,containerName=web,containerPort=8080", tg)).MustSucceed(t)
	t.Cleanup(func() {
		b.Run(t, cli, "ecs", "delete-service", "--cluster", defaultCluster, "--service", svcName, "--force")
	})

	// Only the test CA is trusted, and only for the certificate's name.
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "web.example.test"}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var answer struct{ Env map[string]string }
	var proto string
	eventually(t, 120*time.Second, time.Second, "the task's answer through the HTTPS listener", func() (bool, string) {
		resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/", port))
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return false, resp.Status + " " + string(body)
		}
		proto = resp.Proto
		return json.Unmarshal(body, &answer) == nil && answer.Env["VERSION"] == "tls", string(body)
	})
	if proto != "HTTP/2.0" {
		t.Errorf("answered over %s, want HTTP/2.0", proto)
	}

	var d struct {
		Certificate struct {
			DomainName, Status, Type string
			InUseBy                  []string
		}
	}
	b.Run(t, cli, "acm", "describe-certificate", "--certificate-arn", certArn).MustSucceed(t).JSON(t, &d)
	if d.Certificate.DomainName != "web.example.test" || d.Certificate.Status != "ISSUED" || d.Certificate.Type != "IMPORTED" ||
		!slices.Contains(d.Certificate.InUseBy, l.ListenerArn) {
		t.Fatalf("certificate: %s", pretty(d))
	}
	b.Run(t, cli, "acm", "delete-certificate", "--certificate-arn", certArn).MustFail(t, cli.ServiceErrorExit, "ResourceInUseException")
}
