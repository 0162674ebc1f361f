namespace Registry.Storage;

/// <summary>
/// Stored bytes that cannot be served as they were written: an encrypted blob whose authentication
/// fails (tampered or truncated at rest) or whose master key is missing or wrong. Never answered with
/// data; the caller reports an error or drops the connection.
/// </summary>
public sealed class BlobUnreadableException(string message, Exception? innerException = null) : IOException(message, innerException);
