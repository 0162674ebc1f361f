namespace Registry.Storage;

/// <summary>
/// Another write to the same upload is in progress (two PATCHes of one session at once). The second
/// is refused rather than interleaved, since interleaved chunks would corrupt the upload.
/// </summary>
public sealed class UploadBusyException(string uploadId, Exception? inner = null)
    : IOException($"upload {uploadId} is being written by another request", inner);
