package llm

import (
	"fmt"
	"strings"
)

// ChatTemplate renders a chat conversation as the plain-text prompt of a
// base model. Each message becomes its role's prefix, its content and
// Separator; the prompt ends with AssistantCue, after which the model writes
// the reply. Stop lists strings that end the reply (the start of the next
// turn); they are added to every chat request's stop strings.
type ChatTemplate struct {
	// Name identifies the template (e.g. in flags).
	Name string
	// Prefix maps a role (RoleSystem, RoleUser, RoleAssistant) to the text
	// written before the message's content.
	Prefix map[string]string
	// Separator follows every message.
	Separator string
	// AssistantCue ends the prompt.
	AssistantCue string
	// Stop ends the generated reply.
	Stop []string
}

// DefaultChatTemplate is the minimal template for base models:
//
//	System: <system message>
//	User: <user message>
//	Assistant: <assistant message>
//	User: <user message>
//	Assistant:
//
// with a stop on "\nUser:" so the model does not write the user's next turn.
func DefaultChatTemplate() ChatTemplate {
	return ChatTemplate{
		Name:         "plain",
		Prefix:       map[string]string{RoleSystem: "System: ", RoleUser: "User: ", RoleAssistant: "Assistant: "},
		Separator:    "\n",
		AssistantCue: "Assistant:",
		Stop:         []string{"\nUser:"},
	}
}

// RawChatTemplate concatenates the message contents with newlines and adds
// nothing else: the reply continues the last message. Useful for base models
// queried through chat clients.
func RawChatTemplate() ChatTemplate {
	return ChatTemplate{
		Name:      "raw",
		Prefix:    map[string]string{RoleSystem: "", RoleUser: "", RoleAssistant: ""},
		Separator: "\n",
	}
}

// ChatTemplateByName returns DefaultChatTemplate ("plain") or
// RawChatTemplate ("raw").
func ChatTemplateByName(name string) (ChatTemplate, error) {
	switch name {
	case "", "plain":
		return DefaultChatTemplate(), nil
	case "raw":
		return RawChatTemplate(), nil
	}
	return ChatTemplate{}, fmt.Errorf("unknown chat template %q (want plain or raw)", name)
}

// Render returns the prompt for msgs. The role "developer" is read as
// "system"; any other unknown role is an ErrInvalidRequest.
func (t ChatTemplate) Render(msgs []Message) (string, error) {
	if len(msgs) == 0 {
		return "", reqErr(ErrInvalidRequest, "messages", "at least one message is required")
	}
	var b strings.Builder
	for i, m := range msgs {
		role := m.Role
		if role == "developer" {
			role = RoleSystem
		}
		p, ok := t.Prefix[role]
		if !ok {
			return "", reqErr(ErrInvalidRequest, fmt.Sprintf("messages[%d].role", i), "unsupported role %q", m.Role)
		}
		b.WriteString(p)
		b.WriteString(m.Content)
		if t.AssistantCue != "" || i < len(msgs)-1 {
			b.WriteString(t.Separator)
		}
	}
	b.WriteString(t.AssistantCue)
	return b.String(), nil
}
