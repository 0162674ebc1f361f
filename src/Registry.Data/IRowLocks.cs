namespace Registry.Data;

/// <summary>
/// How a provider keeps rows read inside a transaction from being changed by another transaction
/// until it ends. Garbage collection and pushes meet on the same rows: a manifest push holds its blobs
/// and child manifests shared while it records that it references them; the collector holds a row
/// exclusively while it checks that nothing references it and deletes it.
/// </summary>
public interface IRowLocks
{
    /// <summary>The clause that ends a SELECT so the rows it returns stay as read (shared with other readers that lock them).</summary>
    string ForShare { get; }

    /// <summary>The clause that ends a SELECT so no other transaction may lock, change or delete the rows it returns.</summary>
    string ForUpdate { get; }
}
