package ewsclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/calsync/calsync/ews"
	"github.com/calsync/calsync/ews/ewsclient"
	"github.com/calsync/calsync/ews/internal/ewswire"
)

func TestGetItemsBatches(t *testing.T) {
	f, c, _ := newFake(t, nil)
	var refs []ews.ItemRef
	for i := 0; i < 7; i++ {
		id := fmt.Sprintf("id%d", i)
		if i == 5 {
			id = "missing"
		}
		refs = append(refs, ews.ItemByID(ews.ItemId{Id: id}))
	}
	res, err := c.GetItems(context.Background(), ewsclient.ActAs("alice@contoso.com"), ewsclient.GetItemRequest{Items: refs}, 3)
	if err != nil || len(res) != 7 {
		t.Fatalf("GetItems() = %d results, %v", len(res), err)
	}
	var re *ews.ResponseError
	if !errors.As(res[5].Err, &re) || re.Index != 5 || res[6].Err != nil {
		t.Fatalf("result 5 = %v (index must be the input position)", res[5].Err)
	}
	if len(f.requests) != 3 {
		t.Fatalf("requests = %d, want 3 batches", len(f.requests))
	}
	if _, err := c.GetItems(context.Background(), ewsclient.Call{}, ewsclient.GetItemRequest{Items: refs}, 101); err == nil {
		t.Fatal("GetItems(batch 101) = nil error")
	}
}

func TestSyncAll(t *testing.T) {
	f, c, _ := newFake(t, nil)
	calls := 0
	f.override = func(w http.ResponseWriter, env *ewswire.Envelope) bool {
		req, ok := env.Body.(*ewswire.SyncFolderItems)
		if !ok {
			return false
		}
		calls++
		last := calls == 3
		next := fmt.Sprintf("state-%d", calls)
		if req.SyncState != fmt.Sprintf("state-%d", calls-1) && !(calls == 1 && req.SyncState == "") {
			t.Errorf("call %d sent SyncState %q", calls, req.SyncState)
		}
		r := &ewswire.SyncFolderItemsResponse{}
		r.ResponseMessages.Messages = []ewswire.SyncFolderItemsResponseMessage{{ResponseMessage: ewswire.Success(), SyncState: next, IncludesLastItemInRange: &last,
			Changes: &ewswire.SyncChanges{{Kind: "Delete", ItemId: &ewswire.ItemId{Id: next}}}}}
		_ = ewswire.EncodeEnvelope(w, nil, r)
		return true
	}
	all, err := c.SyncAll(context.Background(), ewsclient.ActAs("alice@contoso.com"), ewsclient.SyncFolderItemsRequest{}, 10)
	if err != nil || all.SyncState != "state-3" || len(all.Changes) != 3 || !all.IncludesLastItemInRange || all.Changes[2].ItemId.Id != "state-3" {
		t.Fatalf("SyncAll() = %+v, %v", all, err)
	}
	calls = 0
	if _, err := c.SyncAll(context.Background(), ewsclient.ActAs("alice@contoso.com"), ewsclient.SyncFolderItemsRequest{}, 2); err == nil {
		t.Fatal("SyncAll(maxPages 2) = nil error")
	}
}
