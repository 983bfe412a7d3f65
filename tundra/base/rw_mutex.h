// RwMutex: a reader-writer lock that prefers writers (glibc's
// PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP). std::shared_mutex on glibc prefers readers, so
// two data-path threads taking shared locks back to back could starve a configuration change
// forever. Usable with std::shared_lock / std::unique_lock.
//
// Not recursive: a thread must never take a shared lock it already holds (a waiting writer would
// deadlock it).
#pragma once

#include <pthread.h>

#include "tundra/base/check.h"

namespace tundra {

class RwMutex {
 public:
  RwMutex() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    TUNDRA_CHECK(pthread_rwlock_init(&lock_, &attr) == 0);
    pthread_rwlockattr_destroy(&attr);
  }
  ~RwMutex() { pthread_rwlock_destroy(&lock_); }
  RwMutex(const RwMutex&) = delete;
  RwMutex& operator=(const RwMutex&) = delete;

  void lock() { TUNDRA_CHECK(pthread_rwlock_wrlock(&lock_) == 0); }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  bool try_lock() { return pthread_rwlock_trywrlock(&lock_) == 0; }
  void lock_shared() { TUNDRA_CHECK(pthread_rwlock_rdlock(&lock_) == 0); }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }
  bool try_lock_shared() { return pthread_rwlock_tryrdlock(&lock_) == 0; }

 private:
  pthread_rwlock_t lock_;
};

}  // namespace tundra
