// Network namespaces, the iproute2 way: a namespace is kept alive by a bind mount of its nsfs file (for
// `ip netns`, /run/netns/NAME). All switching happens in the CALLING THREAD (setns/unshare are per thread), so
// the Node main thread is switched only for the duration of one synchronous call.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "args.h"
#include "bindings.h"
#include "errors.h"

namespace tunvpn {

namespace {

constexpr const char* kThreadNetns = "/proc/thread-self/ns/net";
constexpr mode_t kDirMode = 0755;
constexpr size_t kMaxPath = 4095;

// Closes an fd on scope exit, keeping errno intact.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      int saved = errno;
      close(fd_);
      errno = saved;
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// mkdir -p with kDirMode.
void MakeDirs(Napi::Env env, const std::string& dir) {
  for (size_t pos = 1; pos <= dir.size(); pos++) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string prefix = dir.substr(0, pos);
    if (mkdir(prefix.c_str(), kDirMode) < 0 && errno != EEXIST) ThrowErrno(env, errno, "mkdir", prefix.c_str());
  }
}

// Makes `dir` a shared mount point so that unmounting a namespace file propagates to every mount namespace
// (as `ip netns add` does). Once per directory per process: the bind mount is made at most once.
void MakeSharedMountPoint(Napi::Env env, const std::string& dir) {
  static std::string prepared;  // the directory already made shared (normally /run/netns)
  if (prepared == dir) return;
  if (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) < 0) {
    if (errno != EINVAL) ThrowErrno(env, errno, "mount(MS_SHARED)", dir.c_str());
    // Not a mount point yet: bind it onto itself, then retry.
    if (mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) < 0) {
      ThrowErrno(env, errno, "mount(MS_BIND)", dir.c_str());
    }
    if (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) < 0) {
      ThrowErrno(env, errno, "mount(MS_SHARED)", dir.c_str());
    }
  }
  prepared = dir;
}

// Switches the calling thread back to `saved`. If that fails the thread is stranded in another namespace; the
// error names this so it is never mistaken for an ordinary failure.
void Restore(Napi::Env env, int saved) {
  if (setns(saved, CLONE_NEWNET) < 0) {
    ThrowErrno(env, errno, "setns(restore)", "the thread could not return to its network namespace");
  }
}

std::string ArgPath(const Napi::CallbackInfo& info, size_t index, const char* name) {
  std::string path = ArgString(info, index, name, kMaxPath);
  if (path.empty()) ThrowErrno(info.Env(), ENOENT, "open", "empty path");
  return path;
}

// netnsCreate(path)
Napi::Value NetnsCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgPath(info, 0, "path");
  std::string dir = Parent(path);
  MakeDirs(env, dir);
  MakeSharedMountPoint(env, dir);

  int created = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (created < 0) ThrowErrno(env, errno, "open(O_CREAT|O_EXCL)", path.c_str());
  close(created);

  Fd saved(open(kThreadNetns, O_RDONLY | O_CLOEXEC));
  if (saved.get() < 0) {
    int err = errno;
    unlink(path.c_str());
    ThrowErrno(env, err, "open", kThreadNetns);
  }
  if (unshare(CLONE_NEWNET) < 0) {
    int err = errno;
    unlink(path.c_str());
    ThrowErrno(env, err, "unshare(CLONE_NEWNET)");
  }
  int mounted = mount(kThreadNetns, path.c_str(), "none", MS_BIND, nullptr);
  int mount_err = errno;
  int restored = setns(saved.get(), CLONE_NEWNET);
  int restore_err = errno;
  if (mounted < 0) {
    unlink(path.c_str());
    if (restored < 0) ThrowErrno(env, restore_err, "setns(restore)", "thread stranded in a new namespace");
    ThrowErrno(env, mount_err, "mount(MS_BIND)", path.c_str());
  }
  if (restored < 0) {
    umount2(path.c_str(), MNT_DETACH);
    unlink(path.c_str());
    ThrowErrno(env, restore_err, "setns(restore)", "thread stranded in a new namespace");
  }
  return env.Undefined();
}

// netnsDelete(path): a file that is not (or no longer) a mount point is still removed.
Napi::Value NetnsDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgPath(info, 0, "path");
  if (umount2(path.c_str(), MNT_DETACH) < 0 && errno != EINVAL) {
    ThrowErrno(env, errno, "umount2", path.c_str());
  }
  if (unlink(path.c_str()) < 0) ThrowErrno(env, errno, "unlink", path.c_str());
  return env.Undefined();
}

// withNetns(nsPath, fn) -> fn's value; the thread is switched back even when fn throws (rethrown unchanged).
Napi::Value WithNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgPath(info, 0, "nsPath");
  Napi::Function fn = ArgFunction(info, 1, "fn");

  Fd target(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (target.get() < 0) ThrowErrno(env, errno, "open", path.c_str());
  Fd saved(open(kThreadNetns, O_RDONLY | O_CLOEXEC));
  if (saved.get() < 0) ThrowErrno(env, errno, "open", kThreadNetns);
  if (setns(target.get(), CLONE_NEWNET) < 0) ThrowErrno(env, errno, "setns", path.c_str());

  Napi::Value result;
  try {
    result = fn.Call(env.Undefined(), {});
  } catch (...) {
    Restore(env, saved.get());
    throw;
  }
  Restore(env, saved.get());
  return result;
}

// openNetnsFd(path) -> fd
Napi::Value OpenNetnsFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgPath(info, 0, "nsPath");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) ThrowErrno(env, errno, "open", path.c_str());
  return Napi::Number::New(env, fd);
}

}  // namespace

void InitNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("netnsCreate", Napi::Function::New(env, NetnsCreate, "netnsCreate"));
  exports.Set("netnsDelete", Napi::Function::New(env, NetnsDelete, "netnsDelete"));
  exports.Set("withNetns", Napi::Function::New(env, WithNetns, "withNetns"));
  exports.Set("openNetnsFd", Napi::Function::New(env, OpenNetnsFd, "openNetnsFd"));
}

}  // namespace tunvpn
