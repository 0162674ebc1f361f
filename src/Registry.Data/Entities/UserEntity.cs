namespace Registry.Data.Entities;

/// <summary>A user who signs in with a password; only a slow, salted hash of it is stored.</summary>
public sealed class UserEntity
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public required string PasswordHash { get; set; }

    public DateTime CreatedAt { get; set; }
}
