<?php

namespace App;

/** The greetings the message handler writes: a SQLite database under $TMPDIR (the task root is read-only). */
class Greetings
{
    private \PDO $db;

    public function __construct()
    {
        $dir = rtrim(getenv('TMPDIR') ?: sys_get_temp_dir(), '/') . '/symfony';
        @mkdir($dir, 0700, true);
        $this->db = new \PDO('sqlite:' . $dir . '/app.sqlite', null, null, [\PDO::ATTR_ERRMODE => \PDO::ERRMODE_EXCEPTION]);
        $this->db->exec('CREATE TABLE IF NOT EXISTS greetings (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    }

    public function add(string $name): void
    {
        $this->db->prepare('INSERT INTO greetings (name) VALUES (?)')->execute([$name]);
    }

    /** @return list<string> */
    public function all(): array
    {
        return $this->db->query('SELECT name FROM greetings ORDER BY id')->fetchAll(\PDO::FETCH_COLUMN);
    }
}
