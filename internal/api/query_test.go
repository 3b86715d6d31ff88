package api

import (
	"context"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

type queryTag struct{ Key, Value string }

type queryIn struct {
	UserName string
	Path     *string
	MaxItems *int32
	Force    bool
	Tags     []queryTag
	Arns     []string `query:"PolicyArns"`
	Nested   struct{ Inner string }
}

func TestDecodeQuery(t *testing.T) {
	str := func(s string) *string { return &s }
	i32 := func(n int32) *int32 { return &n }
	tests := []struct {
		name    string
		form    string
		want    queryIn
		wantErr string
	}{
		{name: "empty", form: ""},
		{name: "scalars", form: "UserName=bob&Path=%2Fteam%2F&MaxItems=10&Force=true",
			want: queryIn{UserName: "bob", Path: str("/team/"), MaxItems: i32(10), Force: true}},
		{name: "struct list", form: "Tags.member.1.Key=a&Tags.member.1.Value=1&Tags.member.2.Key=b&Tags.member.2.Value=",
			want: queryIn{Tags: []queryTag{{"a", "1"}, {"b", ""}}}},
		{name: "scalar list stops at a gap", form: "PolicyArns.member.1=x&PolicyArns.member.2=y&PolicyArns.member.4=z",
			want: queryIn{Arns: []string{"x", "y"}}},
		{name: "nested", form: "Nested.Inner=v", want: queryIn{Nested: struct{ Inner string }{"v"}}},
		{name: "bad integer", form: "MaxItems=ten", wantErr: CodeValidation},
		{name: "bad bool", form: "Force=maybe", wantErr: CodeValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params, _ := url.ParseQuery(tt.form)
			var got queryIn
			err := DecodeQuery(params, &got)
			if tt.wantErr != "" {
				if err == nil || AsError(err).Code != tt.wantErr {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

type queryUser struct {
	UserName   string
	CreateDate time.Time
}

type listOut struct {
	Users       Members[queryUser]
	IsTruncated bool
}

// queryRouter serves a "test" Query service behind an accept-all authenticator.
func queryRouter() *Router {
	r := NewRouter(anyone{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	svc := NewQueryService("test", "https://test.example/doc/")
	svc.Handle("ListUsers", QueryOp(func(_ context.Context, in *queryIn) (*listOut, error) {
		return &listOut{Users: Members[queryUser]{{UserName: in.UserName, CreateDate: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}}}, nil
	}))
	svc.Handle("ListNone", QueryOp(func(_ context.Context, _ *queryIn) (*listOut, error) { return &listOut{}, nil }))
	svc.Handle("DeleteUser", QueryOp(func(_ context.Context, _ *queryIn) (*struct{}, error) { return nil, nil }))
	svc.Handle("GetUser", QueryOp(func(_ context.Context, in *queryIn) (*struct{}, error) {
		return nil, &Error{Code: "NoSuchEntity", Message: "The user with name " + in.UserName + " cannot be found.", Status: 404}
	}))
	r.AddQuery(svc)
	return r
}

func callQuery(r *Router, service, form string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=x")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

func TestQueryRouting(t *testing.T) {
	r := queryRouter()
	tests := []struct {
		name, service, form string
		status              int
		body                string
	}{
		{"result with members", "test", "Action=ListUsers&Version=1&UserName=bob", 200,
			`<ListUsersResponse xmlns="https://test.example/doc/"><ListUsersResult><Users><member><UserName>bob</UserName><CreateDate>2024-01-02T03:04:05Z</CreateDate></member></Users><IsTruncated>false</IsTruncated></ListUsersResult><ResponseMetadata><RequestId>`},
		{"empty list keeps its element", "test", "Action=ListNone", 200, `<ListNoneResult><Users></Users>`},
		{"no result", "test", "Action=DeleteUser", 200, `<DeleteUserResponse xmlns="https://test.example/doc/"><ResponseMetadata>`},
		{"error", "test", "Action=GetUser&UserName=x", 404,
			`<ErrorResponse xmlns="https://test.example/doc/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name x cannot be found.</Message></Error><RequestId>`},
		{"unknown action", "test", "Action=Nope&Version=1", 400, `<Code>InvalidAction</Code>`},
		{"unknown service", "other", "Action=ListUsers", 400, `<Code>InvalidAction</Code>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := callQuery(r, tt.service, tt.form)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.body) {
				t.Fatalf("got %d %s\nwant %d containing %s", w.Code, w.Body, tt.status, tt.body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/xml" {
				t.Fatalf("Content-Type %q", ct)
			}
			var anyDoc struct{ XMLName xml.Name }
			if err := xml.Unmarshal(w.Body.Bytes(), &anyDoc); err != nil {
				t.Fatalf("not XML: %v", err)
			}
		})
	}
}

func TestQueryErrorCodes(t *testing.T) {
	for code, want := range map[string]string{"UnrecognizedClientException": "InvalidClientTokenId", CodeAccessDenied: "AccessDenied", "Throttling": "Throttling"} {
		b, _ := encodeQueryError("", "id", Errorf(code, "m"))
		if !strings.Contains(string(b), "<Code>"+want+"</Code>") {
			t.Errorf("%s encoded as %s, want code %s", code, b, want)
		}
	}
}
