using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Registry.Data.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class LaunchTypes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "LaunchType",
                table: "Tasks",
                type: "TEXT",
                maxLength: 16,
                nullable: false,
                defaultValue: "EC2");

            migrationBuilder.AddColumn<string>(
                name: "LaunchType",
                table: "Services",
                type: "TEXT",
                maxLength: 16,
                nullable: false,
                defaultValue: "EC2");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "LaunchType",
                table: "Tasks");

            migrationBuilder.DropColumn(
                name: "LaunchType",
                table: "Services");
        }
    }
}
