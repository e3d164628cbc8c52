<?php

use App\Jobs\Greet;
use App\Jobs\Hello;
use App\Jobs\Spin;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\DB;
use Illuminate\Support\Facades\Route;

Route::get('/', function () {
    return view('home');
});

Route::get('/login', function () {
    return view('login');
});

Route::post('/login', function (Request $request) {
    $name = trim((string) $request->input('name'));
    if ($name === '') {
        return redirect('/login');
    }
    $request->session()->put('name', $name);
    return redirect('/hello');
});

Route::get('/hello', function (Request $request) {
    if (!$request->session()->has('name')) {
        return redirect('/login');
    }
    return view('hello', ['name' => $request->session()->get('name')]);
});

Route::permanentRedirect('/old-home', '/');

// Queued work: a job dispatched from a page (to the queue connection, SQS on Lambda), and what the jobs
// and the scheduler wrote.
Route::get('/jobs/greet', function (Request $request) {
    Greet::dispatch((string) $request->query('name', 'nobody'));
    return response()->json(['queued' => 'greet']);
});

Route::get('/jobs/spin', function () {
    Spin::dispatch();
    return response()->json(['queued' => 'spin']);
});

Route::get('/jobs/state', function () {
    return response()->json([
        'greetings' => DB::table('greetings')->orderBy('id')->pluck('name'),
        'failed_jobs' => DB::table('failed_jobs')->orderBy('id')->get(['uuid', 'queue', 'exception']),
        'job_failures' => DB::table('job_failures')->orderBy('id')->get(['name', 'message']),
    ]);
});

// The benchmark's pair (benches/events): a hello page, and a page that queues a hello job.
Route::get('/ping', function () {
    return response('pong', 200, ['Content-Type' => 'text/plain']);
});

Route::get('/jobs/hello', function () {
    Hello::dispatch();
    return response()->json(['queued' => 'hello']);
});
