# multiprocessing.Pool with the fork start method: 3 forked workers (each a
# maps.fork and a maps.end: workers leave by os._exit), a task list, a
# result list, and the pool's threads in the parent; close() + join() let
# the workers leave by themselves.
import multiprocessing as mp


def square_sum(n):
    data = [i * i for i in range(n)]
    return sum(data)


if __name__ == "__main__":
    ctx = mp.get_context("fork")
    pool = ctx.Pool(3)
    results = pool.map(square_sum, [20000 + i * 1000 for i in range(24)])
    pool.close()  # workers finish and leave (terminate() would kill them)
    pool.join()
    print(len(results), max(results))
