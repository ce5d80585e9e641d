package rest

import "net/http"

func (a *API) addPushDevice(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	if err := a.svc.AddPushDevice(r.Context(), caller(r), in.Token); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) removePushDevice(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.RemovePushDevice(r.Context(), caller(r), r.PathValue("token")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
