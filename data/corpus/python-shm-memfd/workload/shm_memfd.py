# memfd (grown by ftruncate + mmap.resize, i.e. mremap), a read-only second
# view, multiprocessing.shared_memory (/dev/shm, unlinked while mapped), a
# /tmp file mapped MAP_SHARED and unlinked while mapped, a thread, and an
# os.fork child that maps and leaves by os._exit.
import mmap
import os
import tempfile
import threading
from multiprocessing import shared_memory

fd = os.memfd_create("maple-memfd")
os.ftruncate(fd, 64 * 1024)
m = mmap.mmap(fd, 64 * 1024)
m[:5] = b"hello"
os.ftruncate(fd, 1 << 20)
m.resize(1 << 20)
view = mmap.mmap(fd, 64 * 1024, prot=mmap.PROT_READ)

shm = shared_memory.SharedMemory(create=True, size=256 * 1024)
shm.buf[:3] = b"abc"

fdt, path = tempfile.mkstemp(prefix="maple-corpus-", dir="/tmp")
os.write(fdt, b"\0" * 65536)
fm = mmap.mmap(fdt, 65536)
fm[0:4] = b"data"
os.unlink(path)


def work():
    blocks = [bytearray(300 * 1024) for _ in range(8)]
    return sum(len(b) for b in blocks)


t = threading.Thread(target=work)
t.start()
t.join()

big = bytearray(5 << 20)
pid = os.fork()
if pid == 0:
    c = mmap.mmap(-1, 1 << 20)
    c[0] = 1
    os._exit(7)
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status), "memfd", bytes(view[:5]), "shm", bytes(shm.buf[:3]))
fm.close()
os.close(fdt)
shm.close()
shm.unlink()
view.close()
m.close()
