package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/ggmi-dev/ggmi/llm"
)

// apiError is an error reported to the client in OpenAI's format.
type apiError struct {
	Status  int     `json:"-"`
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.codeString(), e.Message)
}

func (e *apiError) codeString() string {
	if e.Code == nil {
		return ""
	}
	return *e.Code
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func invalid(code, param, format string, a ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: ptr(code), Param: ptr(param), Message: fmt.Sprintf(format, a...)}
}

// fromBackend turns a backend error into the client's error.
func fromBackend(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	param := ""
	var re *llm.RequestError
	if errors.As(err, &re) {
		param = re.Param
	}
	msg := err.Error()
	if re != nil {
		msg = re.Message
	}
	switch {
	case errors.Is(err, llm.ErrUnknownModel):
		return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: ptr("model_not_found"), Param: ptr(param), Message: msg}
	case errors.Is(err, llm.ErrContextLength):
		return invalid("context_length_exceeded", param, "%s", msg)
	case errors.Is(err, llm.ErrInvalidRequest):
		return invalid("invalid_value", param, "%s", msg)
	case errors.Is(err, llm.ErrClosed):
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: ptr("unavailable"), Message: "the model is shutting down"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: ptr("unavailable"), Message: "the request was cancelled"}
	}
	return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Code: ptr("server_error"), Message: msg}
}

// writeError writes e as the JSON error body.
func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, struct {
		Error *apiError `json:"error"`
	}{e})
}

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"message":"could not encode the response","type":"server_error","param":null,"code":"server_error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
