<?php
// The benchmark's PHP app (benches/runtime): one small script per workload, chosen by path. Each answer is
// cheap for PHP on purpose, so the figures show what the runtime adds on top of php-fpm.
$path = strtok($_SERVER['REQUEST_URI'] ?? '/', '?');

switch ($path) {
    case '/hello':
        echo 'Hello, world!';
        break;

    case '/cookies':
        // A typical dynamic page's headers: caching, a request id, two cookies.
        header('Content-Type: text/html; charset=UTF-8');
        header('Cache-Control: no-store, private');
        header('X-Request-Id: ' . ($_SERVER['HTTP_X_AMZN_TRACE_ID'] ?? 'none'));
        header('Vary: Accept-Encoding, Cookie');
        setcookie('session', 'd41d8cd98f00b204e9800998ecf8427e', ['path' => '/', 'httponly' => true, 'samesite' => 'Lax']);
        setcookie('theme', 'dark', ['path' => '/', 'expires' => 1893456000]);
        echo '<p>Hello again, ', htmlspecialchars($_COOKIE['name'] ?? 'stranger'), '</p>';
        break;

    case '/text':
        // 1 MiB of HTML-like text: quotes and line breaks, so the JSON string needs escapes.
        header('Content-Type: text/html; charset=UTF-8');
        $row = '<tr class="row"><td>lorem ipsum dolor sit amet</td><td>42</td></tr>' . "\n";
        $text = str_repeat($row, intdiv(1048576, strlen($row)));
        echo $text, str_repeat('.', 1048576 - strlen($text));
        break;

    case '/binary':
        // 1 MiB with every byte value: not UTF-8, travels base64-encoded.
        header('Content-Type: application/octet-stream');
        echo str_repeat(implode('', array_map('chr', range(0, 255))), 4096);
        break;

    case '/upload':
        // The body PHP reads: its length and a checksum of both ends, so it must have arrived whole.
        $in = file_get_contents('php://input');
        header('Content-Type: text/plain');
        echo strlen($in), ' ', md5(substr($in, 0, 4096) . substr($in, -4096));
        break;

    case '/compute':
        // About 2 ms of CPU in PHP itself (15,000 chained md5s), the runtime's share then small.
        $h = 'x';
        for ($i = 0; $i < 15000; $i++) {
            $h = md5($h);
        }
        echo 'md5 chain ', $h;
        break;

    case '/wait':
        // A script that waits 20 ms with its CPU idle, as one waiting on a database does.
        usleep(20000);
        echo 'waited 20 ms';
        break;

    case '/flush':
        // A page that sends its first bytes at once and needs 5 ms more for the rest: what a client
        // gets before the script ends is the time to first byte.
        header('Content-Type: text/html; charset=UTF-8');
        echo '<!doctype html><html><head><title>streamed</title></head><body>';
        flush();
        usleep(5000);
        echo str_repeat('<p>the rest of the page</p>', 100), '</body></html>';
        break;

    case '/stream':
        // A large download, 1 MiB per echo: what the runtime streams per second.
        header('Content-Type: application/octet-stream');
        $chunk = str_repeat(implode('', array_map('chr', range(0, 255))), 4096);
        for ($i = (int) ($_GET['mib'] ?? 1); $i > 0; $i--) {
            echo $chunk;
        }
        break;

    default:
        http_response_code(404);
        echo 'not found';
}
