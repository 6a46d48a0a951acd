import io.pgfleet.storage.gcs.FakeGcsServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * Runs the test-scope FakeGcsServer (storage-gcs's test-jar) as a process of its own, for bench/storage-heap.sh:
 * {@code java -cp <test-jar>:<cli/target/lib/*> FakeGcsMain.java ENDPOINT_FILE BUCKET...}. Writes its endpoint
 * ({@code http://127.0.0.1:PORT}) to ENDPOINT_FILE once it answers, and serves until killed (SIGTERM).
 * FakeGcsServer keeps object bytes in ITS heap: give this JVM room for every object stored (plus one copy of the
 * largest while it is finalized), and never run it in the JVM whose heap is measured.
 */
public final class FakeGcsMain {
  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: FakeGcsMain ENDPOINT_FILE BUCKET...");
      System.exit(2);
    }
    FakeGcsServer server = FakeGcsServer.start();
    for (int i = 1; i < args.length; i++) {
      server.createBucket(args[i]);
    }
    Path out = Path.of(args[0]);
    Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
    Files.writeString(tmp, server.endpoint() + "\n");
    Files.move(tmp, out, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    System.err.println("fake GCS server at " + server.endpoint() + ", buckets " + String.join(",",
        java.util.Arrays.asList(args).subList(1, args.length)) + ", max heap "
        + (Runtime.getRuntime().maxMemory() >> 20) + " MiB");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      stop.countDown();
    }));
    stop.await();
  }
}
