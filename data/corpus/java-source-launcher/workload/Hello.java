// Run with `java Hello.java` (the source launcher compiles it in memory):
// collections, streams, a record, two threads, a direct ByteBuffer.
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

public class Hello {
  record Point(int x, int y) {}

  public static void main(String[] args) throws Exception {
    List<Point> points = IntStream.range(0, 200_000).mapToObj(i -> new Point(i, i * 7 % 1000))
        .collect(Collectors.toList());
    long sum = points.stream().mapToLong(p -> p.x() + p.y()).sum();
    ByteBuffer direct = ByteBuffer.allocateDirect(4 << 20);
    direct.putLong(0, sum);
    List<Thread> threads = new ArrayList<>();
    long[] out = new long[2];
    for (int t = 0; t < 2; t++) {
      final int id = t;
      Thread th = new Thread(() -> {
        long s = 0;
        for (int i = 0; i < 3_000_000; i++) s += i % (id + 3);
        out[id] = s;
      });
      threads.add(th);
      th.start();
    }
    for (Thread th : threads) th.join();
    System.out.println(sum + " " + out[0] + " " + out[1] + " " + direct.getLong(0));
  }
}
