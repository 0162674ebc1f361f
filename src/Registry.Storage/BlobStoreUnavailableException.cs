namespace Registry.Storage;

/// <summary>The blob store's backend cannot be reached or answers with a server error; the request may be retried later.</summary>
public sealed class BlobStoreUnavailableException(string message, Exception innerException) : IOException(message, innerException);
