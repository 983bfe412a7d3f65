// Running the daemon as an unprivileged user after setup (User= / --user), and keeping its
// memory out of other processes' reach (docs/security.md, "Privileges").
//
// DropPrivileges: the process becomes `user` (supplementary groups from the group database,
// then gid, then uid, all three of real/effective/saved) and keeps exactly one capability,
// CAP_NET_ADMIN, effective and permitted: SO_MARK (fwmark) needs it. The bounding set is cut to
// it (or, without CAP_SETPCAP to cut it, as under tundra@.service, no-new-privileges is set), the
// inheritable and ambient sets are empty, so a hook the daemon runs (an exec) has no
// capability at all. It must run while the process has a single thread: capabilities are
// per thread, and a thread started before would keep root's.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "tundra/base/result.h"
#include "tundra/base/unique_fd.h"

namespace tundra::cli {

struct TargetUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// A user name, or a decimal uid (which need not be in the user database; its gid is then the
// same number). Error: "unknown user 'NAME'" (EINVAL).
Result<TargetUser> LookUpUser(std::string_view name_or_uid);

// See above. Also checks the result (uid 0 can no longer be regained).
Status DropPrivileges(const TargetUser& user);

// PR_SET_DUMPABLE 0: no core file, no ptrace by the same uid, /proc/PID owned by root.
Status MakeNotDumpable();

// The UAPI socket file sits in root's socket directory, where the unprivileged daemon cannot
// remove it when it exits. This forks a child that keeps root but holds nothing except the
// read end of a pipe (every other descriptor closed): when the daemon exits, however it exits,
// the pipe ends and the child removes the socket file if it is still the daemon's (same inode),
// then exits. The returned descriptor is the daemon's end; keep it open for the daemon's life.
Result<UniqueFd> StartSocketJanitor(const std::string& socket_path);

}  // namespace tundra::cli
