package acm

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/acm/types"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth"
	"github.com/berth-dev/berth/internal/store"
	"github.com/berth-dev/berth/internal/testutil"
)

const testRegion = "us-east-1"

var testAccount = auth.Account{ID: "123456789012", RootAccessKeyID: "AKIAROOTROOTROOTROOT", RootSecretAccessKey: "rootsecret"}

// newClient serves ACM over HTTP with SigV4 on a real embedded etcd and
// returns an SDK client for the root user; users names the listeners
// using each certificate.
func newClient(t *testing.T, users map[string][]string) (*sdk.Client, *Service) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := New(Config{Region: testRegion, Account: testAccount.ID}, st, api.RootOnly{}, log)
	svc.UseUsers(func(_ context.Context, arn string) ([]string, error) { return users[arn], nil })
	router := api.NewRouter(auth.NewAuthenticator(testAccount, testRegion), log)
	svc.Register(router)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	c := sdk.NewFromConfig(aws.Config{Region: testRegion, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(testAccount.RootAccessKeyID, testAccount.RootSecretAccessKey, "")},
		func(o *sdk.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return c, svc
}

var code = testutil.ErrorCode

func must[T any](t *testing.T) func(T, error) T { return testutil.Must[T](t) }

// TestImportDescribeGet imports a CA-issued certificate with its chain and
// reads it back as ACM describes it.
func TestImportDescribeGet(t *testing.T) {
	c, _ := newClient(t, nil)
	ctx := context.Background()
	ca := testutil.NewCA(t, "Test CA")
	leaf := ca.Issue(t, false, "www.example.com", "api.example.com")
	imp := must[*sdk.ImportCertificateOutput](t)(c.ImportCertificate(ctx, &sdk.ImportCertificateInput{Certificate: leaf.CertPEM,
		PrivateKey: leaf.KeyPEM, CertificateChain: ca.PEM, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}}}))
	arn := aws.ToString(imp.CertificateArn)
	if want := "arn:aws:acm:us-east-1:123456789012:certificate/"; len(arn) != len(want)+36 || arn[:len(want)] != want {
		t.Fatalf("arn = %s", arn)
	}
	d := must[*sdk.DescribeCertificateOutput](t)(c.DescribeCertificate(ctx, &sdk.DescribeCertificateInput{CertificateArn: &arn})).Certificate
	if aws.ToString(d.DomainName) != "www.example.com" || !slices.Equal(d.SubjectAlternativeNames, []string{"www.example.com", "api.example.com"}) ||
		d.Type != types.CertificateTypeImported || d.Status != types.CertificateStatusIssued || d.KeyAlgorithm != types.KeyAlgorithmRsa2048 ||
		len(d.InUseBy) != 0 || aws.ToString(d.Issuer) != "Test CA" || !d.NotAfter.Equal(leaf.Cert.NotAfter) || !d.NotBefore.Equal(leaf.Cert.NotBefore) ||
		aws.ToString(d.SignatureAlgorithm) != "SHA256WITHECDSA" {
		t.Fatalf("detail = %+v", d)
	}
	g := must[*sdk.GetCertificateOutput](t)(c.GetCertificate(ctx, &sdk.GetCertificateInput{CertificateArn: &arn}))
	if aws.ToString(g.Certificate) != string(leaf.CertPEM) || aws.ToString(g.CertificateChain) != string(ca.PEM) {
		t.Fatalf("get = %+v", g)
	}
	tags := must[*sdk.ListTagsForCertificateOutput](t)(c.ListTagsForCertificate(ctx, &sdk.ListTagsForCertificateInput{CertificateArn: &arn}))
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "test" {
		t.Fatalf("tags = %+v", tags.Tags)
	}
}

// TestImportRefused: what ACM refuses to import, with its codes.
func TestImportRefused(t *testing.T) {
	c, _ := newClient(t, nil)
	ca := testutil.NewCA(t, "Test CA")
	other := testutil.NewCA(t, "Other CA")
	a := ca.Issue(t, false, "a.example.com")
	b := ca.Issue(t, false, "b.example.com")
	for _, tc := range []struct {
		name string
		in   sdk.ImportCertificateInput
		want string
	}{
		{"key of another certificate", sdk.ImportCertificateInput{Certificate: a.CertPEM, PrivateKey: b.KeyPEM, CertificateChain: ca.PEM}, "ValidationException"},
		{"not PEM", sdk.ImportCertificateInput{Certificate: []byte("hello"), PrivateKey: a.KeyPEM}, "ValidationException"},
		{"two certificates", sdk.ImportCertificateInput{Certificate: append(slices.Clone(a.CertPEM), b.CertPEM...), PrivateKey: a.KeyPEM, CertificateChain: ca.PEM}, "ValidationException"},
		{"no chain for an issued certificate", sdk.ImportCertificateInput{Certificate: a.CertPEM, PrivateKey: a.KeyPEM}, "ValidationException"},
		{"chain of another CA", sdk.ImportCertificateInput{Certificate: a.CertPEM, PrivateKey: a.KeyPEM, CertificateChain: other.PEM}, "ValidationException"},
		{"key not PEM", sdk.ImportCertificateInput{Certificate: a.CertPEM, PrivateKey: []byte(" "), CertificateChain: ca.PEM}, "ValidationException"},
		{"unknown ARN", sdk.ImportCertificateInput{Certificate: a.CertPEM, PrivateKey: a.KeyPEM, CertificateChain: ca.PEM,
			CertificateArn: aws.String("arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000")}, "ResourceNotFoundException"},
		{"bad ARN", sdk.ImportCertificateInput{Certificate: a.CertPEM, PrivateKey: a.KeyPEM, CertificateChain: ca.PEM,
			CertificateArn: aws.String("arn:aws:s3:::bucket-name-here")}, "InvalidArnException"},
		{"reserved tag", sdk.ImportCertificateInput{Certificate: a.CertPEM, PrivateKey: a.KeyPEM, CertificateChain: ca.PEM,
			Tags: []types.Tag{{Key: aws.String("aws:x")}}}, "InvalidTagException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ImportCertificate(context.Background(), &tc.in)
			if got := code(err); got != tc.want {
				t.Fatalf("error = %v, want %s", err, tc.want)
			}
		})
	}
	list := must[*sdk.ListCertificatesOutput](t)(c.ListCertificates(context.Background(), &sdk.ListCertificatesInput{}))
	if len(list.CertificateSummaryList) != 0 {
		t.Fatalf("refused imports stored: %+v", list.CertificateSummaryList)
	}
}

// TestReimport replaces a certificate under its ARN, keeping its tags.
func TestReimport(t *testing.T) {
	c, _ := newClient(t, nil)
	ctx := context.Background()
	ca := testutil.NewCA(t, "Test CA")
	first, second := ca.Issue(t, false, "old.example.com"), ca.Issue(t, true, "new.example.com")
	arn := must[*sdk.ImportCertificateOutput](t)(c.ImportCertificate(ctx, &sdk.ImportCertificateInput{Certificate: first.CertPEM,
		PrivateKey: first.KeyPEM, CertificateChain: ca.PEM, Tags: []types.Tag{{Key: aws.String("k")}}})).CertificateArn
	_, err := c.ImportCertificate(ctx, &sdk.ImportCertificateInput{CertificateArn: arn, Certificate: second.CertPEM, PrivateKey: second.KeyPEM,
		CertificateChain: ca.PEM, Tags: []types.Tag{{Key: aws.String("k2")}}})
	if code(err) != "InvalidParameterException" {
		t.Fatalf("reimport with tags: %v", err)
	}
	again := must[*sdk.ImportCertificateOutput](t)(c.ImportCertificate(ctx, &sdk.ImportCertificateInput{CertificateArn: arn,
		Certificate: second.CertPEM, PrivateKey: second.KeyPEM, CertificateChain: ca.PEM}))
	if aws.ToString(again.CertificateArn) != aws.ToString(arn) {
		t.Fatalf("reimport arn = %s", aws.ToString(again.CertificateArn))
	}
	d := must[*sdk.DescribeCertificateOutput](t)(c.DescribeCertificate(ctx, &sdk.DescribeCertificateInput{CertificateArn: arn})).Certificate
	if aws.ToString(d.DomainName) != "new.example.com" || d.KeyAlgorithm != types.KeyAlgorithmEcPrime256v1 {
		t.Fatalf("after reimport: %+v", d)
	}
	tags := must[*sdk.ListTagsForCertificateOutput](t)(c.ListTagsForCertificate(ctx, &sdk.ListTagsForCertificateInput{CertificateArn: arn}))
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "k" {
		t.Fatalf("tags after reimport = %+v", tags.Tags)
	}
}

// TestListCertificates pages through the RSA certificates listed by
// default, and filters by key type and status.
func TestListCertificates(t *testing.T) {
	c, _ := newClient(t, nil)
	ctx := context.Background()
	ca := testutil.NewCA(t, "Test CA")
	var rsa []string
	for i, name := range []string{"a.example.com", "b.example.com", "c.example.com", "ec.example.com"} {
		leaf := ca.Issue(t, i == 3, name)
		out := must[*sdk.ImportCertificateOutput](t)(c.ImportCertificate(ctx, &sdk.ImportCertificateInput{Certificate: leaf.CertPEM, PrivateKey: leaf.KeyPEM, CertificateChain: ca.PEM}))
		if i < 3 {
			rsa = append(rsa, aws.ToString(out.CertificateArn))
		}
		time.Sleep(2 * time.Millisecond) // distinct creation times
	}
	var got []string
	var token *string
	for range 5 {
		out := must[*sdk.ListCertificatesOutput](t)(c.ListCertificates(ctx, &sdk.ListCertificatesInput{MaxItems: aws.Int32(2), NextToken: token}))
		for _, s := range out.CertificateSummaryList {
			got = append(got, aws.ToString(s.CertificateArn))
			if s.Status != types.CertificateStatusIssued || s.Type != types.CertificateTypeImported || aws.ToBool(s.InUse) {
				t.Errorf("summary = %+v", s)
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if !slices.Equal(got, rsa) {
		t.Fatalf("listed %v, want the RSA certificates in import order %v", got, rsa)
	}
	ec := must[*sdk.ListCertificatesOutput](t)(c.ListCertificates(ctx, &sdk.ListCertificatesInput{Includes: &types.Filters{KeyTypes: []types.KeyAlgorithm{types.KeyAlgorithmEcPrime256v1}}}))
	if len(ec.CertificateSummaryList) != 1 || aws.ToString(ec.CertificateSummaryList[0].DomainName) != "ec.example.com" {
		t.Fatalf("EC filter = %+v", ec.CertificateSummaryList)
	}
	expired := must[*sdk.ListCertificatesOutput](t)(c.ListCertificates(ctx, &sdk.ListCertificatesInput{CertificateStatuses: []types.CertificateStatus{types.CertificateStatusExpired}}))
	if len(expired.CertificateSummaryList) != 0 {
		t.Fatalf("EXPIRED filter = %+v", expired.CertificateSummaryList)
	}
	_, err := c.ListCertificates(ctx, &sdk.ListCertificatesInput{CertificateStatuses: []types.CertificateStatus{"SHINY"}})
	if code(err) != "ValidationException" {
		t.Fatalf("bad status: %v", err)
	}
	_, err = c.ListCertificates(ctx, &sdk.ListCertificatesInput{NextToken: aws.String("garbage!")})
	if code(err) != "InvalidArgsException" {
		t.Fatalf("bad token: %v", err)
	}
}

// TestDeleteInUseAndTags: a certificate a listener uses is not deleted and
// says who uses it; tags come and go.
func TestDeleteInUseAndTags(t *testing.T) {
	users := map[string][]string{}
	c, _ := newClient(t, users)
	ctx := context.Background()
	ca := testutil.NewCA(t, "Test CA")
	leaf := ca.Issue(t, false, "x.example.com")
	arn := must[*sdk.ImportCertificateOutput](t)(c.ImportCertificate(ctx, &sdk.ImportCertificateInput{Certificate: leaf.CertPEM,
		PrivateKey: leaf.KeyPEM, CertificateChain: ca.PEM})).CertificateArn
	listener := "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/0123456789abcdef/fedcba9876543210"
	users[*arn] = []string{listener}
	d := must[*sdk.DescribeCertificateOutput](t)(c.DescribeCertificate(ctx, &sdk.DescribeCertificateInput{CertificateArn: arn})).Certificate
	if !slices.Equal(d.InUseBy, []string{listener}) {
		t.Fatalf("InUseBy = %v", d.InUseBy)
	}
	if _, err := c.DeleteCertificate(ctx, &sdk.DeleteCertificateInput{CertificateArn: arn}); code(err) != "ResourceInUseException" {
		t.Fatalf("delete in use: %v", err)
	}
	must[*sdk.AddTagsToCertificateOutput](t)(c.AddTagsToCertificate(ctx, &sdk.AddTagsToCertificateInput{CertificateArn: arn,
		Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}}}))
	must[*sdk.RemoveTagsFromCertificateOutput](t)(c.RemoveTagsFromCertificate(ctx, &sdk.RemoveTagsFromCertificateInput{CertificateArn: arn,
		Tags: []types.Tag{{Key: aws.String("a")}, {Key: aws.String("b"), Value: aws.String("other")}}}))
	tags := must[*sdk.ListTagsForCertificateOutput](t)(c.ListTagsForCertificate(ctx, &sdk.ListTagsForCertificateInput{CertificateArn: arn}))
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "b" {
		t.Fatalf("tags = %+v", tags.Tags)
	}
	delete(users, *arn)
	must[*sdk.DeleteCertificateOutput](t)(c.DeleteCertificate(ctx, &sdk.DeleteCertificateInput{CertificateArn: arn}))
	if _, err := c.DescribeCertificate(ctx, &sdk.DescribeCertificateInput{CertificateArn: arn}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("describe deleted: %v", err)
	}
	if _, err := c.RequestCertificate(ctx, &sdk.RequestCertificateInput{DomainName: aws.String("x.example.com")}); code(err) != "InvalidParameterException" {
		t.Fatalf("request: %v", err)
	}
}
