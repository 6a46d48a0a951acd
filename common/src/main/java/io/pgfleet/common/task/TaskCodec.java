package io.pgfleet.common.task;

import io.pgfleet.common.json.Json;
import java.io.IOException;

/** The wire form of tasks. A message that does not decode to a complete task is poison for the dead-letter topic. */
public final class TaskCodec {
  private TaskCodec() {}

  public static String encode(Task task) {
    return Json.write(task);
  }

  public static Task decode(String json) throws InvalidTaskException {
    if (json == null) {
      throw new InvalidTaskException("empty message");
    }
    Task t;
    try {
      t = Json.read(json, Task.class);
    } catch (IOException | RuntimeException e) {
      throw new InvalidTaskException("not a pgfleet task: " + e.getMessage().lines().findFirst().orElse(""));
    }
    if (t == null || t.header() == null) {
      throw new InvalidTaskException("task without header");
    }
    return t;
  }

  public static final class InvalidTaskException extends Exception {
    public InvalidTaskException(String message) {
      super(message);
    }
  }
}
