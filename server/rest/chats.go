package rest

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/social"
	"github.com/vibesync/vibesync/wire"
)

type chatBody struct {
	Chat any `json:"chat"`
}

type participantBody struct {
	Participant social.Participant `json:"participant"`
}

// socketBody is the optional body of writes that only carry a socket id.
type socketBody struct {
	Socket string `json:"socket"`
}

// withSocket is the caller of r with the socket id its body named, if
// any (social checks its format: 400 invalid_socket).
func withSocket(r *http.Request, socket string) social.Caller {
	c := caller(r)
	if socket != "" {
		c.Socket = socket
	}
	return c
}

func (a *API) createChat(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		User            string       `json:"user"`
		MeetMe          string       `json:"meetMe"`
		IsGroup         bool         `json:"isGroup"`
		Category        string       `json:"category"`
		Name            string       `json:"name"`
		Participants    *[]string    `json:"participants"`
		Restricted      *bool        `json:"restricted"`
		AllowPublicPost *bool        `json:"allowPublicPost"`
		Tags            []social.Tag `json:"tags"`
		Event           *struct {
			StartsAt wire.Time `json:"startsAt"`
			EndsAt   wire.Time `json:"endsAt"`
			Location string    `json:"location"`
		} `json:"event"`
		Socket string `json:"socket"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	nc := social.NewChat{IsGroup: in.IsGroup, User: in.User, MeetMe: in.MeetMe, Name: in.Name, Category: in.Category,
		Participants: in.Participants, Restricted: in.Restricted, AllowPublicPost: in.AllowPublicPost, Tags: in.Tags}
	if in.Event != nil {
		nc.Event = &social.NewEvent{StartsAt: in.Event.StartsAt, EndsAt: in.Event.EndsAt, Location: in.Event.Location}
	}
	chat, created, err := a.svc.CreateChat(r.Context(), withSocket(r, in.Socket), nc)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, chatBody{chat})
	return nil
}

func (a *API) listChats(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	group, err := boolParam(r, "group")
	if err != nil {
		return err
	}
	meetMe, err := boolParam(r, "meetMeOnly")
	if err != nil {
		return err
	}
	f := social.ChatFilter{Search: r.URL.Query().Get("search"), Group: group, MeetMeOnly: meetMe != nil && *meetMe}
	chats, total, err := a.svc.ListChats(r.Context(), caller(r), f, p)
	if err != nil {
		return err
	}
	// Written by hand rather than through writeJSON: the same document
	// ({"chats": [...], "count": n}), without reflection, into a reused
	// buffer. A page of group chats is tens of kilobytes of populated users.
	buf := listBufs.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= 1<<20 { // an unusually large answer is not kept
			listBufs.Put(buf)
		}
	}()
	b := append((*buf)[:0], `{"chats":`...)
	if b, err = appendChatViewsJSON(b, chats); err != nil {
		return err
	}
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, "}\n"...)
	*buf = b
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b) // the client went away; nothing left to tell it
	return nil
}

// listBufs holds the buffers GET /chats answers are written into.
var listBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func (a *API) exploreCommunities(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	reels, err := intParam(q.Get("reelsLimit"), "reelsLimit", social.DefaultReelsLimit, 0, social.MaxReelsLimit)
	if err != nil {
		return err
	}
	chats, total, err := a.svc.Explore(r.Context(), caller(r), social.ExploreFilter{Search: q.Get("search"), Category: q.Get("category"), ReelsLimit: reels}, p)
	if err != nil {
		return err
	}
	out := make([]exploreChat, len(chats))
	for i, c := range chats {
		out[i].ChatView = c
		if c.Event != nil {
			out[i].Event = c.Event.ID
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"chats": out, "count": total})
	return nil
}

// exploreChat is a chat as GET /chats/explore/communities answers it: its
// event named by id, as the spec's example of that answer shows it (the
// other chat answers carry the event object; docs/DECISIONS.md).
type exploreChat struct {
	social.ChatView
	Event string `json:"event,omitempty"`
}

func (a *API) getChat(w http.ResponseWriter, r *http.Request) error {
	chat, err := a.svc.Chat(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, chatBody{chat})
	return nil
}

func (a *API) chatFiles(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	files, total, err := a.svc.ChatFiles(r.Context(), caller(r), r.PathValue("id"), q.Get("type"), q.Get("tag"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"files": files, "count": total})
	return nil
}

// maxFormField bounds each non-file field of a multipart form.
const maxFormField = 4 << 10

// updateChat reads a multipart form: optional photo (at most
// social.MaxPhotoBytes, 413 above) and text fields.
func (a *API) updateChat(w http.ResponseWriter, r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return apperr.Invalidf("multipart_required", "The body must be multipart/form-data")
	}
	r.Body = http.MaxBytesReader(w, r.Body, social.MaxPhotoBytes+MaxBodyBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return apperr.Invalidf("malformed_form", "Malformed multipart form: %v", err)
	}
	var upd social.ChatUpdate
	var socket string
	for {
		part, err := mr.NextPart()
		// Only a bare io.EOF is the closing boundary: NextPart wraps io.EOF
		// for a body that ends before it (empty, truncated or not a form),
		// which must not be taken for a whole form.
		if err == io.EOF { //nolint:errorlint // see above
			break
		}
		if err != nil {
			return formError(err)
		}
		name := part.FormName()
		if name == "" {
			// Not a form-data part (a broken or missing Content-Disposition):
			// ignoring it would apply the rest of a form the client did not
			// send as written.
			return apperr.Invalidf("malformed_form", "Every part of the form must be form-data with a name")
		}
		if name == "photo" {
			data, err := io.ReadAll(io.LimitReader(part, social.MaxPhotoBytes+1))
			if err != nil {
				return formError(err)
			}
			if len(data) > social.MaxPhotoBytes {
				return apperr.New(apperr.TooLarge, "photo_too_large", "The photo must be at most %d bytes", social.MaxPhotoBytes)
			}
			upd.Photo = &social.Upload{Data: data}
			continue
		}
		raw, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
		if err != nil {
			return formError(err)
		}
		if len(raw) > maxFormField {
			return apperr.InvalidField(name, "%s is too long", name)
		}
		v := string(raw)
		switch name {
		case "name":
			upd.Name = &v
		case "category":
			upd.Category = &v
		case "socket":
			socket = v
		case "restricted", "allowPublicPost":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return apperr.InvalidField(name, "%s must be true or false", name)
			}
			if name == "restricted" {
				upd.Restricted = &b
			} else {
				upd.AllowPublicPost = &b
			}
		}
	}
	chat, err := a.svc.UpdateChat(r.Context(), withSocket(r, socket), r.PathValue("id"), upd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, chatBody{chat})
	return nil
}

func formError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return apperr.New(apperr.TooLarge, "body_too_large", "The request body must be at most %d bytes", mbe.Limit)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errBodyTimeout
	}
	return apperr.Invalidf("malformed_form", "Malformed multipart form")
}

func (a *API) deleteChat(w http.ResponseWriter, r *http.Request) error {
	var in socketBody
	if err := decode(w, r, &in, true); err != nil {
		return err
	}
	if err := a.svc.DeleteChat(r.Context(), withSocket(r, in.Socket), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) readChat(w http.ResponseWriter, r *http.Request) error {
	p, err := a.svc.MarkRead(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, participantBody{p})
	return nil
}

func (a *API) joinChat(w http.ResponseWriter, r *http.Request) error {
	var in socketBody
	if err := decode(w, r, &in, true); err != nil {
		return err
	}
	p, err := a.svc.Join(r.Context(), withSocket(r, in.Socket), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, participantBody{p})
	return nil
}

func (a *API) addParticipants(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Participants []string `json:"participants"`
		Socket       string   `json:"socket"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	ps, err := a.svc.AddParticipants(r.Context(), withSocket(r, in.Socket), r.PathValue("id"), in.Participants)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"participants": ps})
	return nil
}

func (a *API) removeParticipant(w http.ResponseWriter, r *http.Request) error {
	var in socketBody
	if err := decode(w, r, &in, true); err != nil {
		return err
	}
	if err := a.svc.RemoveParticipant(r.Context(), withSocket(r, in.Socket), r.PathValue("id"), r.PathValue("participantId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) setAdmin(admin bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in socketBody
		if err := decode(w, r, &in, true); err != nil {
			return err
		}
		p, err := a.svc.SetAdmin(r.Context(), withSocket(r, in.Socket), r.PathValue("id"), r.PathValue("participantId"), admin)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, participantBody{p})
		return nil
	}
}

func (a *API) participantStatus(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Status string `json:"status"`
		Socket string `json:"socket"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	p, err := a.svc.SetParticipantStatus(r.Context(), withSocket(r, in.Socket), r.PathValue("id"), r.PathValue("participantId"), in.Status)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, participantBody{p})
	return nil
}
