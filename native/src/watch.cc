// FdWatcher: a uv_poll_t on the Node event loop. No threads: the callback runs on the JS thread.
//
// Lifetime:
//   - PollState (heap) owns the uv_poll_t, the callback reference and the async context. It is freed only in
//     the uv_close callback, so it stays valid while a callback is running, even if JS calls close() there.
//   - Watcher (the JS object, an ObjectWrap) points at the PollState until close(). While started it holds a
//     strong reference to itself (Ref), so an active watcher is never collected; a stopped, unreachable one is
//     closed by its finalizer.
//   - An async cleanup hook closes watchers still open when the environment is torn down (process exit, worker
//     exit), and Node waits for the uv_close to complete, so the loop is never closed with our handle in it.
//   - Contract: one watcher per fd, and close the watcher before closing the fd.
#include <errno.h>
#include <fcntl.h>
#include <napi.h>
#include <uv.h>

#include "args.h"
#include "bindings.h"
#include "errors.h"

namespace tunvpn {

namespace {

constexpr int kEventMask = UV_READABLE | UV_WRITABLE;
constexpr const char* kResourceName = "tunvpn:FdWatcher";

class Watcher;

struct PollState {
  uv_poll_t poll;  // poll.data == this
  napi_env env = nullptr;
  int fd = -1;
  napi_ref callback = nullptr;
  napi_async_context async = nullptr;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  Watcher* owner = nullptr;  // detached (null) once closing
  bool closing = false;
};

void OnClosed(uv_handle_t* handle) {
  auto* s = static_cast<PollState*>(handle->data);
  if (s->callback != nullptr) napi_delete_reference(s->env, s->callback);
  if (s->async != nullptr) napi_async_destroy(s->env, s->async);
  if (s->cleanup != nullptr) napi_remove_async_cleanup_hook(s->cleanup);  // also signals teardown completion
  delete s;
}

void Detach(PollState* s);

// Stops polling and starts the asynchronous release. Safe to call once per state (guarded by `closing`).
void CloseState(PollState* s) {
  if (s->closing) return;
  s->closing = true;
  Detach(s);
  uv_poll_stop(&s->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), OnClosed);
}

void OnTeardown(napi_async_cleanup_hook_handle handle, void* data) {
  CloseState(static_cast<PollState*>(data));
}

// `this` for the callback: the watcher object (alive: a started watcher pins itself), else the global object.
bool Receiver(PollState* s, napi_value* recv);

// Calls the JS callback inside a handle scope and a callback scope (napi_make_callback: async hooks, microtasks
// and nextTicks run as for any Node callback). A JS exception becomes an ordinary uncaught exception.
void OnPoll(uv_poll_t* handle, int status, int events) {
  auto* s = static_cast<PollState*>(handle->data);
  if (s->closing || s->callback == nullptr) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, arg, result;
  if (napi_get_reference_value(env, s->callback, &fn) == napi_ok && fn != nullptr && Receiver(s, &recv) &&
      napi_create_int32(env, status < 0 ? status : (events & kEventMask), &arg) == napi_ok) {
    napi_make_callback(env, s->async, recv, fn, 1, &arg, &result);
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

// Set by watch() just before constructing a Watcher, so the constructor cannot be misused from JS.
thread_local PollState* pending_state = nullptr;

class Watcher : public Napi::ObjectWrap<Watcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FdWatcher",
                       {InstanceMethod<&Watcher::Start>("start"), InstanceMethod<&Watcher::Stop>("stop"),
                        InstanceMethod<&Watcher::Close>("close")});
  }

  explicit Watcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Watcher>(info) {
    state_ = pending_state;
    pending_state = nullptr;
    if (state_ == nullptr) ThrowTypeError(info.Env(), "FdWatcher cannot be constructed directly; use watch()");
    state_->owner = this;
  }

  ~Watcher() override {
    pinned_ = false;  // being finalized: no Unref on our own reference
    if (state_ != nullptr) CloseState(state_);
  }

  void Detached() {
    state_ = nullptr;
    if (pinned_) {
      pinned_ = false;
      Unref();
    }
  }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int events = static_cast<int>(ArgInt(info, 0, "events", 1, kEventMask));
    if (state_ == nullptr) ThrowErrno(env, EBADF, "uv_poll_start", "watcher is closed");
    // libuv aborts if epoll_ctl meets a closed fd, so refuse a stale fd here.
    if (fcntl(state_->fd, F_GETFD) < 0) ThrowErrno(env, errno, "uv_poll_start", "fd is not open");
    int rc = uv_poll_start(&state_->poll, events, OnPoll);
    if (rc < 0) ThrowErrno(env, -rc, "uv_poll_start");
    if (!pinned_) {
      pinned_ = true;
      Ref();
    }
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (state_ != nullptr) {
      uv_poll_stop(&state_->poll);
      if (pinned_) {
        pinned_ = false;
        Unref();
      }
    }
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (state_ != nullptr) CloseState(state_);
    return info.Env().Undefined();
  }

  PollState* state_ = nullptr;
  bool pinned_ = false;
};

void Detach(PollState* s) {
  if (s->owner != nullptr) {
    Watcher* w = s->owner;
    s->owner = nullptr;
    w->Detached();
  }
}

bool Receiver(PollState* s, napi_value* recv) {
  *recv = nullptr;
  if (s->owner != nullptr) {
    napi_ref self = *s->owner;  // the ObjectWrap's own reference to its JS object
    if (self != nullptr) napi_get_reference_value(s->env, self, recv);
  }
  return *recv != nullptr || napi_get_global(s->env, recv) == napi_ok;
}

// watch(fd, callback) -> FdWatcher (not started).
Napi::Value Watch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  Napi::Function callback = ArgFunction(info, 1, "callback");

  auto* s = new PollState();
  s->env = env;
  s->fd = fd;
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    delete s;
    throw Napi::Error::New(env, "watch: no event loop");
  }
  int rc = uv_poll_init(loop, &s->poll, fd);
  if (rc < 0) {
    delete s;  // uv_poll_init failed before registering the handle
    ThrowErrno(env, -rc, "uv_poll_init");
  }
  s->poll.data = s;
  // From here on the handle is registered with the loop and must be released with uv_close (CloseState).
  napi_value name;
  if (napi_create_reference(env, callback, 1, &s->callback) != napi_ok ||
      napi_create_string_utf8(env, kResourceName, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, nullptr, name, &s->async) != napi_ok ||
      napi_add_async_cleanup_hook(env, OnTeardown, s, &s->cleanup) != napi_ok) {
    CloseState(s);
    throw Napi::Error::New(env);
  }

  auto* ctor = env.GetInstanceData<Napi::FunctionReference>();
  pending_state = s;
  Napi::Object watcher;
  try {
    watcher = ctor->New({});
  } catch (...) {
    pending_state = nullptr;
    CloseState(s);
    throw;
  }
  return watcher;
}

}  // namespace

void InitWatch(Napi::Env env, Napi::Object exports, Napi::Object constants) {
  // The only instance data of the addon: the FdWatcher constructor (freed by Node at env teardown).
  env.SetInstanceData(new Napi::FunctionReference(Napi::Persistent(Watcher::Define(env))));
  exports.Set("watch", Napi::Function::New(env, Watch, "watch"));
  constants.Set("POLL_READABLE", static_cast<int>(UV_READABLE));
  constants.Set("POLL_WRITABLE", static_cast<int>(UV_WRITABLE));
}

}  // namespace tunvpn
