// Registers the archive operations (Create/Describe/List/Update/DeleteArchive) and the replay
// operations (Start/Describe/List/CancelReplay) on an EventsApi.
#pragma once

#include "api/events_api.h"
#include "archive/archive_store.h"
#include "replay/replay_service.h"

namespace bp::api {

void RegisterArchivesAndReplays(EventsApi& api, archive::ArchiveStore& archives,
                                replay::ReplayService& replays);

}  // namespace bp::api
