#include "api/archive_handlers.h"

namespace bp::api {

namespace {

template <typename Service>
void Add(EventsApi& api, Service& service, const char* op,
         StatusOr<boost::json::object> (Service::*method)(const boost::json::object&)) {
  api.Register(op, [&service, method](const boost::json::object& in, const RequestContext&,
                                      JsonReply reply) { reply((service.*method)(in)); });
}

}  // namespace

void RegisterArchivesAndReplays(EventsApi& api, archive::ArchiveStore& archives,
                                replay::ReplayService& replays) {
  using A = archive::ArchiveStore;
  using R = replay::ReplayService;
  Add(api, archives, "CreateArchive", &A::CreateArchive);
  Add(api, archives, "DescribeArchive", &A::DescribeArchive);
  Add(api, archives, "ListArchives", &A::ListArchives);
  Add(api, archives, "UpdateArchive", &A::UpdateArchive);
  Add(api, archives, "DeleteArchive", &A::DeleteArchive);
  Add(api, replays, "StartReplay", &R::StartReplay);
  Add(api, replays, "DescribeReplay", &R::DescribeReplay);
  Add(api, replays, "ListReplays", &R::ListReplays);
  Add(api, replays, "CancelReplay", &R::CancelReplay);
}

}  // namespace bp::api
