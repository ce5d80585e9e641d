package rest

import (
	"net/http"

	"github.com/vibesync/vibesync/server/social"
)

type reelBody struct {
	Reel social.Reel `json:"reel"`
}

func (a *API) createReel(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Chat        string   `json:"chat"`
		Description string   `json:"description"`
		Tag         string   `json:"tag"`
		Video       string   `json:"video"`
		Hashtags    []string `json:"hashtags"`
		IsAnonymous bool     `json:"isAnonymous"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	reel, err := a.svc.CreateReel(r.Context(), caller(r), social.NewReel{Chat: in.Chat, Description: in.Description, Tag: in.Tag,
		Video: in.Video, Hashtags: in.Hashtags, IsAnonymous: in.IsAnonymous})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, reelBody{reel})
	return nil
}

func (a *API) reactToReel(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		reel, err := a.svc.ToggleReaction(r.Context(), caller(r), r.PathValue("id"), kind)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, reelBody{reel})
		return nil
	}
}
