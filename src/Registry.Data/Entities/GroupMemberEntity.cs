namespace Registry.Data.Entities;

/// <summary>A user's membership of a group.</summary>
public sealed class GroupMemberEntity
{
    public long GroupId { get; set; }

    public long UserId { get; set; }
}
