package io.pgfleet.storage.gcs;

import com.google.api.gax.paging.Page;
import com.google.cloud.storage.Blob;
import com.google.cloud.storage.Storage;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;

/**
 * A Storage service that answers list calls in pages of the size asked for (LocalStorageHelper returns only its
 * first page) and passes every other call to the wrapped service. Test code only: it fetches the whole listing
 * from the helper, then cuts it into pages linked by next-page calls, as GCS does with page tokens.
 */
final class PagingStorageService {
  private PagingStorageService() {}

  /** Lists in pages of {@code pageSize}, the size the GcsStorage under test asks for. */
  static Storage wrap(Storage helper, int pageSize) {
    Storage.BlobListOption pageSizeOption = Storage.BlobListOption.pageSize(pageSize);
    return (Storage) Proxy.newProxyInstance(Storage.class.getClassLoader(), new Class<?>[] {Storage.class},
        (proxy, method, args) -> {
          if (method.getName().equals("list") && args != null && args.length == 2 && args[0] instanceof String bucket) {
            Storage.BlobListOption[] options = (Storage.BlobListOption[]) args[1];
            List<Storage.BlobListOption> passed = new ArrayList<>();
            int size = Integer.MAX_VALUE;
            for (Storage.BlobListOption o : options) {
              if (o.equals(pageSizeOption)) {
                size = pageSize;
              } else {
                passed.add(o);
              }
            }
            List<Blob> all = new ArrayList<>();
            helper.list(bucket, passed.toArray(new Storage.BlobListOption[0])).getValues().forEach(all::add);
            return page(all, 0, size);
          }
          try {
            return method.invoke(helper, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }

  private static Page<Blob> page(List<Blob> all, int from, int size) {
    int to = (int) Math.min(all.size(), (long) from + size);
    return new Page<>() {
      @Override
      public boolean hasNextPage() {
        return to < all.size();
      }

      @Override
      public String getNextPageToken() {
        return hasNextPage() ? Integer.toString(to) : "";
      }

      @Override
      public Page<Blob> getNextPage() {
        return hasNextPage() ? page(all, to, size) : null;
      }

      @Override
      public Iterable<Blob> iterateAll() {
        return all.subList(from, all.size());
      }

      @Override
      public Iterable<Blob> getValues() {
        return all.subList(from, to);
      }
    };
  }
}
