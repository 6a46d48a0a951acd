package io.pgfleet.common.storage;

import java.io.IOException;
import java.io.OutputStream;

/** A stream into one object; see {@link Storage#create(String)}. */
public abstract class ObjectWriter extends OutputStream {
  /** Makes the object visible at its key, replacing any previous one (a redelivered task overwrites its output). */
  public abstract void commit() throws IOException;
}
