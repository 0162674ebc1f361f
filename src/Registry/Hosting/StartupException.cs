namespace Registry.Hosting;

/// <summary>A dependency the registry cannot start without is missing or unreachable; the message says which.</summary>
internal sealed class StartupException(string message, Exception? innerException = null) : Exception(message, innerException);
